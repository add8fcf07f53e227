"""Re-export of exi.generated.iso20_ac (typed classes generated from the XSDs)."""
from exi.generated.iso20_ac import *  # noqa: F401,F403
from exi.generated.iso20_ac import __all__  # noqa: F401
