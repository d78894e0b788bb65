//! Named hard limits of the SFTP codec. Each is checked before anything is consumed or allocated,
//! and the transfer limits are advertised to clients through `limits@openssh.com`.

/// Largest SFTP packet accepted or sent, excluding the 4-byte length prefix (OpenSSH's
/// `SFTP_MAX_MSG_LENGTH`). A length prefix above this closes the channel before any allocation.
pub const MAX_PACKET_LEN: u32 = 256 * 1024;

/// Largest READ length served and WRITE payload accepted: OpenSSH's client takes
/// `min(server limit, 256 KiB - 1024)`, so advertising this makes it pipeline ~255 KiB requests.
pub const MAX_READ_WRITE_LEN: u32 = 256 * 1024 - 1024;

/// Longest single path component (a file or directory name), in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Longest path accepted in a request, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// The only protocol version served.
pub const SFTP_VERSION: u32 = 3;

/// Most entries returned by one READDIR reply (keeps replies well under [`MAX_PACKET_LEN`]).
pub const MAX_READDIR_ENTRIES: usize = 100;
