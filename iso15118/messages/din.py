"""Re-export of exi.generated.din (typed classes generated from the XSDs)."""
from exi.generated.din import *  # noqa: F401,F403
from exi.generated.din import __all__  # noqa: F401
