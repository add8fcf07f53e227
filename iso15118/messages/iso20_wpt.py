"""Re-export of exi.generated.iso20_wpt (typed classes generated from the XSDs)."""
from exi.generated.iso20_wpt import *  # noqa: F401,F403
from exi.generated.iso20_wpt import __all__  # noqa: F401
