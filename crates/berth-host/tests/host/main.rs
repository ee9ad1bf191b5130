//! Tests against the machine's real tools: `certutil` (libnss3-tools) on throwaway NSS
//! databases, and, when run as root on Debian, the real system store.

mod trust;
