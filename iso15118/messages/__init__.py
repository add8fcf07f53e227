"""Typed ISO 15118 message classes (generated from the XSDs; see the `exi` package docstring for the model).

    from iso15118.messages.iso20 import SessionSetupReq, MessageHeader
    from iso15118.messages import encode, decode, to_xml, from_xml
"""
from exi import ExiError, decode, encode, from_xml, to_xml

__all__ = ["encode", "decode", "to_xml", "from_xml", "ExiError"]
