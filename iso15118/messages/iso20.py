"""Re-export of exi.generated.iso20 (typed classes generated from the XSDs)."""
from exi.generated.iso20 import *  # noqa: F401,F403
from exi.generated.iso20 import __all__  # noqa: F401
