"""Session supervision: control pilot (IEC 61851-1) and PLC link quality watchers that abort and seal."""
