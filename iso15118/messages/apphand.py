"""Re-export of exi.generated.apphand (typed classes generated from the XSDs)."""
from exi.generated.apphand import *  # noqa: F401,F403
from exi.generated.apphand import __all__  # noqa: F401
