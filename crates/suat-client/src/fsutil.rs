//! Private files written atomically: a temp file created 0600 in the same directory, fsynced, renamed over the
//! target, then the directory fsynced. A reader (or a crash) sees the old content or the new one, never half a token,
//! and the secret is never readable by others, not even for an instant.

use crate::error::ClientError;
use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

/// Replaces `path` with `data`, mode 0600.
pub fn write_private_atomic(path: &Path, data: &[u8]) -> Result<(), ClientError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| ClientError::Invalid(format!("{} is not a file path", path.display())))?
        .to_string_lossy()
        .into_owned();
    let mut nonce = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), hex::encode(nonce)));
    let result = (|| {
        let mut f = private_options().open(&tmp).map_err(|e| ClientError::io(&tmp, e))?;
        f.write_all(data).map_err(|e| ClientError::io(&tmp, e))?;
        f.sync_all().map_err(|e| ClientError::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| ClientError::io(path, e))?;
        // Makes the rename itself durable; best effort where directories cannot be opened.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// create_new (never follows a planted symlink or reuses a file) with mode 0600 from the first byte.
fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// An exclusive advisory lock on `<path>.lock`, held until dropped (closing the file releases it).
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> Result<FileLock, ClientError> {
        use fs4::fs_std::FileExt;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&lock_path).map_err(|e| ClientError::io(&lock_path, e))?;
        FileExt::lock_exclusive(&file).map_err(|e| ClientError::io(&lock_path, e))?;
        Ok(FileLock { _file: file })
    }
}

/// The file's permission bits (for checks and tests).
#[cfg(unix)]
pub fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        #[cfg(unix)]
        assert_eq!(mode(&p).unwrap(), 0o600);
        // No temp file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn fails_cleanly_when_the_directory_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/token");
        assert!(write_private_atomic(&p, b"x").is_err());
    }

    #[test]
    fn lock_is_reentrant_across_sequential_uses() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("store.json");
        drop(FileLock::acquire(&p).unwrap());
        drop(FileLock::acquire(&p).unwrap());
    }
}
