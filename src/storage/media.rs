//! Files named by their content (`<sha256>.<ext>`): pictures sent with chat messages under `<data_dir>/media/`,
//! and the one durable, atomic write that avatars use too. A file is written once and never rewritten.

use std::path::{Path, PathBuf};

use super::StorageError;
use crate::domain::image::Image;

/// Where chat pictures live.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("media")
}

/// Writes `bytes` to `dir/name` unless that file exists: into a temporary file first, synced, then renamed, so
/// a reader never sees half a file and a crash leaves none.
pub async fn write_once(dir: PathBuf, name: String, bytes: Vec<u8>) -> Result<(), StorageError> {
    let path = dir.join(&name);
    let shown = name.clone();
    let write = move || -> std::io::Result<()> {
        if path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{name}.{}.part", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
        .map_err(|e| StorageError::Query(format!("writing {shown}: {e}")))
}

/// Stores chat pictures durably; answers their file names, in order.
pub async fn save_images(data_dir: &Path, images: &[Image]) -> Result<Vec<String>, StorageError> {
    let mut names = Vec::with_capacity(images.len());
    for image in images {
        let name = image.file_name();
        write_once(dir(data_dir), name.clone(), image.bytes.clone()).await?;
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_image_is_stored_once_under_its_hash() {
        let data = tempfile::tempdir().unwrap();
        let png = Image::from_bytes(b"\x89PNG\r\n\x1a\nbody".to_vec()).unwrap();
        let names = save_images(data.path(), &[png.clone(), png.clone()]).await.unwrap();
        assert_eq!(names, vec![png.file_name(), png.file_name()]);
        let stored = std::fs::read(dir(data.path()).join(&names[0])).unwrap();
        assert_eq!(stored, png.bytes);
        let leftovers: Vec<_> = std::fs::read_dir(dir(data.path())).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
