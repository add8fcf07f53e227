"""Re-export of exi.generated.iso2 (typed classes generated from the XSDs)."""
from exi.generated.iso2 import *  # noqa: F401,F403
from exi.generated.iso2 import __all__  # noqa: F401
