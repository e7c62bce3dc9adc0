//! Sans-IO POP3 server session (RFC 1939, RFC 2449, RFC 5034); filled by the POP3 work.
