"""ISO 15118-20 XML signatures over EXI and the Plug & Charge signing helpers (docstring filled below)."""
from .errors import ERR_SIG_INVALID, SignatureError
from .suites import ED448, P256_COMPAT, P521, KeySigner, SignatureSuite, Signer
from .xmldsig import (build_signed_info, element_fragment, reference_digest, sign_elements, signed_info_fragment,
                      verify_signature)
from .installation import (InstalledContract, accept_certificate_installation_res,
                           build_certificate_installation_res, sign_certificate_installation_req,
                           verify_certificate_installation_req)
from .metering_confirmation import sign_metering_data, verify_metering_confirmation
from .pnc import AuthorizationVerdict, sign_authorization_req, verify_authorization_req
