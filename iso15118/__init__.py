"""ISO 15118-20 stack: V2GTP, SDP, TLS 1.3 profile, SECC and EVCC session machines."""
