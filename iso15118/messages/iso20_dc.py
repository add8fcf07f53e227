"""Re-export of exi.generated.iso20_dc (typed classes generated from the XSDs)."""
from exi.generated.iso20_dc import *  # noqa: F401,F403
from exi.generated.iso20_dc import __all__  # noqa: F401
