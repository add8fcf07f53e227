"""Re-export of exi.generated.iso20_types (typed classes generated from the XSDs)."""
from exi.generated.iso20_types import *  # noqa: F401,F403
from exi.generated.iso20_types import __all__  # noqa: F401
