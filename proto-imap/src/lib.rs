//! Sans-IO IMAP4rev1/IMAP4rev2 server session (RFC 3501, RFC 9051); filled by the IMAP work.
