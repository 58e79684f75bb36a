//! Avatar images on disk: `<data_dir>/avatars/<sha256>.<ext>`, named by content so a file is never rewritten, and
//! found again from the `avatar_url` stored on the persona (`…?v=<sha256>.<ext>`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::StorageError;
use crate::domain::image::ImageFormat;

/// The image types an avatar may be (GIF is not one).
pub const FORMATS: [ImageFormat; 3] = [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp];

/// The image type the bytes start with: (extension, MIME type). Names and declared types are not trusted.
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    ImageFormat::sniff(bytes)
        .filter(|f| FORMATS.contains(f))
        .map(|f| (f.extension(), f.mime()))
}

/// The stored file name (`<sha256>.<ext>`) an avatar URL points at; `None` for anything else.
pub fn stored_name(avatar_url: &str) -> Option<&str> {
    let name = avatar_url.rsplit_once("?v=")?.1;
    ImageFormat::is_content_name(name, &FORMATS).then_some(name)
}

/// The directory of the stored avatars.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("avatars")
}

/// Stores an image (already checked with [`sniff_image`]) durably; answers its file name.
pub async fn save(data_dir: &Path, bytes: Vec<u8>, ext: &'static str) -> Result<String, StorageError> {
    let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{hash}.{ext}");
    super::media::write_once(dir(data_dir), name.clone(), bytes).await?;
    Ok(name)
}

/// The avatar an `avatar_url` points at: its bytes and file name; `None` when there is none (or it is gone).
pub async fn read(data_dir: &Path, avatar_url: Option<&str>) -> Result<Option<(Vec<u8>, String)>, StorageError> {
    let Some(name) = avatar_url.and_then(stored_name).map(str::to_string) else {
        return Ok(None);
    };
    let path = dir(data_dir).join(&name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(Some((bytes, name))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::Query(format!("reading avatar {name}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_first_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest").unwrap().0, "png");
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().0, "jpg");
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WEBPVP8 ").unwrap().0, "webp");
        assert!(sniff_image(b"\x7fELF\x02\x01\x01").is_none());
        assert!(sniff_image(b"RIFF\x10\0\0\0WAVE").is_none());
    }

    #[test]
    fn only_hash_names_are_read_back() {
        let h = "a".repeat(64);
        assert_eq!(stored_name(&format!("/x?v={h}.png")), Some(format!("{h}.png").as_str()));
        assert!(stored_name("/x?v=../../etc/passwd").is_none());
        assert!(stored_name(&format!("/x?v={h}.exe")).is_none());
    }
}
