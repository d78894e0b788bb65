//! The one permission check (as OpenSSH's `request_permitted()`, but over domain operations):
//! given the account's access level, may it do this? Every front end maps its requests to an
//! [`Operation`] and asks here, before anything runs; handlers never re-check. A grant may be
//! narrowed ([`Grant::NewFilesOnly`]): a drop box writes only files that do not exist yet.

use catalog::Access;

/// What a request does, whatever protocol carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Look at a path or at the service (stat, resolve a path, free space, limits).
    Inspect,
    /// Let go of something opened.
    Close,
    /// List a directory.
    List,
    /// Open a file for reading, or read from it.
    Read,
    /// Open a file for writing, write to an upload, or set the attributes of an upload.
    Write,
    /// Change a stored file's attributes (permissions, times).
    SetAttributes,
    Mkdir,
    Remove,
    Rmdir,
    Rename,
    /// Make a symbolic or hard link.
    Link,
    /// Copy data between files on the server.
    Copy,
}

/// Permission to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Granted,
    /// Only as the creation of a file that does not exist yet (never an overwrite or append).
    NewFilesOnly,
}

/// The operation is not allowed for this account; the text is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

const READ_ONLY: Denied = Denied("permission denied: this account is read-only");
const UPLOAD_ONLY: Denied = Denied("permission denied: this account may only upload new files");

pub fn authorize(access: Access, op: Operation) -> Result<Grant, Denied> {
    use Operation as O;
    match (access, op) {
        (Access::Full, _) => Ok(Grant::Granted),
        (Access::ReadOnly, O::Inspect | O::Close | O::List | O::Read) => Ok(Grant::Granted),
        (Access::ReadOnly, _) => Err(READ_ONLY),
        (Access::UploadOnly, O::Inspect | O::Close | O::Mkdir) => Ok(Grant::Granted),
        (Access::UploadOnly, O::Write) => Ok(Grant::NewFilesOnly),
        (Access::UploadOnly, _) => Err(UPLOAD_ONLY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation as O;

    const ALL: [Operation; 12] = [
        O::Inspect,
        O::Close,
        O::List,
        O::Read,
        O::Write,
        O::SetAttributes,
        O::Mkdir,
        O::Remove,
        O::Rmdir,
        O::Rename,
        O::Link,
        O::Copy,
    ];

    #[test]
    fn full_access_may_do_everything() {
        assert!(
            ALL.iter()
                .all(|op| authorize(Access::Full, *op) == Ok(Grant::Granted))
        );
    }

    #[test]
    fn read_only_may_look_list_and_read_only() {
        let allowed: Vec<_> = ALL
            .into_iter()
            .filter(|op| authorize(Access::ReadOnly, *op).is_ok())
            .collect();
        assert_eq!(allowed, [O::Inspect, O::Close, O::List, O::Read]);
        assert_eq!(authorize(Access::ReadOnly, O::Write), Err(READ_ONLY));
    }

    #[test]
    fn a_drop_box_writes_new_files_and_cannot_read_or_list() {
        assert_eq!(
            authorize(Access::UploadOnly, O::Write),
            Ok(Grant::NewFilesOnly)
        );
        let allowed: Vec<_> = ALL
            .into_iter()
            .filter(|op| authorize(Access::UploadOnly, *op).is_ok())
            .collect();
        assert_eq!(allowed, [O::Inspect, O::Close, O::Write, O::Mkdir]);
    }
}
