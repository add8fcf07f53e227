"""Re-export of exi.generated.iso20_acdp (typed classes generated from the XSDs)."""
from exi.generated.iso20_acdp import *  # noqa: F401,F403
from exi.generated.iso20_acdp import __all__  # noqa: F401
