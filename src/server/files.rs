//! The data folder (the server key, the mail folder, often the SQLite database): readable by the
//! user the server runs as, and no one else.

use std::{io, path::Path};

/// Permissions of the data folder and the mail folder.
#[cfg(unix)]
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Permissions of the key file and of each `.eml` file.
#[cfg(unix)]
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and any missing parent) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)
}

/// Makes the data folder and, when it exists, its mail folder readable by their owner only:
/// creates the data folder so when it is missing, and takes group and other permissions from
/// either when an earlier version (or the SQLite driver) made it with the default ones.
///
/// Failing is not fatal here: a server whose key is set and whose mail goes out by SMTP may
/// never write to the folder (a read-only file system), and whatever does write there reports
/// its own error.
pub fn secure_data_dir(data_dir: &Path) {
    if let Err(e) = create_private_dir(data_dir) {
        tracing::warn!(folder = %data_dir.display(), error = %e, "cannot create the data folder");
        return;
    }
    for dir in [data_dir.to_owned(), data_dir.join("mail")] {
        match make_private(&dir) {
            Ok(None) => {}
            Ok(Some(was)) => tracing::warn!(
                folder = %dir.display(),
                was = %format!("{was:o}"),
                "made the folder readable by its owner only"
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                folder = %dir.display(),
                error = %e,
                "cannot make the folder readable by its owner only"
            ),
        }
    }
}

/// Takes group and other permissions from an existing folder; returns its former mode when it
/// had any.
#[cfg(unix)]
fn make_private(dir: &Path) -> io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    Ok(Some(mode))
}

#[cfg(not(unix))]
fn make_private(_dir: &Path) -> io::Result<Option<u32>> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn scratch() -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "gatehouse-files-{}",
            hex::encode(crate::server::auth::secrets::random_bytes::<6>())
        ))
    }

    #[test]
    fn a_missing_data_folder_is_created_for_its_owner_only() {
        let root = scratch();
        let data = root.join("nested").join("data");
        secure_data_dir(&data);
        assert_eq!(mode(&data), 0o700);
        assert!(
            !data.join("mail").exists(),
            "the mail folder waits for mail"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_open_data_folder_and_its_mail_folder_are_closed() {
        let data = scratch();
        std::fs::create_dir_all(data.join("mail")).unwrap();
        for dir in [&data, &data.join("mail")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        secure_data_dir(&data);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("mail")), 0o700);
        std::fs::remove_dir_all(data).unwrap();
    }
}
