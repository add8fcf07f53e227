"""Re-export of exi.generated.xmldsig (typed classes generated from the XSDs)."""
from exi.generated.xmldsig import *  # noqa: F401,F403
from exi.generated.xmldsig import __all__  # noqa: F401
