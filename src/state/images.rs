//! The images of a data dir in state files: one part per folder of content-named images, one row per image,
//! `{"file": "<sha256>.<ext>", "data": "<base64>"}`. The `avatars` part (format 1.1) holds `<data_dir>/avatars/`,
//! the `media` part (format 1.2) the pictures sent with chat messages, `<data_dir>/media/`. Saved after the
//! tables; on load the images are checked (name = content hash, bytes = an image type of the folder, named by
//! its extension) and written back before the tables are replaced, so every `avatar_url` and every stored
//! message's image finds its file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StateError;
use crate::domain::image::ImageFormat;
use crate::storage::snapshot::RowSink;
use crate::storage::{avatars, media};

/// A folder of content-named images that state files carry.
pub struct Folder {
    /// The part's (pseudo-)table name.
    pub part: &'static str,
    /// Where the folder is in a data dir.
    dir: fn(&Path) -> PathBuf,
    /// The image types it holds.
    formats: &'static [ImageFormat],
}

/// The persona avatars (no GIF).
pub const AVATARS: Folder = Folder {
    part: "avatars",
    dir: avatars::dir,
    formats: &avatars::FORMATS,
};

/// The pictures sent with chat messages.
pub const MEDIA: Folder = Folder {
    part: "media",
    dir: media::dir,
    formats: &ImageFormat::ALL,
};

/// Every folder a state file carries, in the order they are saved.
pub const FOLDERS: [Folder; 2] = [AVATARS, MEDIA];

impl Folder {
    /// The name the folder stores `bytes` under, when they are an image of one of its types.
    fn name_of(&self, bytes: &[u8]) -> Option<String> {
        let format = ImageFormat::sniff(bytes).filter(|f| self.formats.contains(f))?;
        let hash: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        Some(format!("{hash}.{}", format.extension()))
    }
}

#[derive(Serialize, Deserialize)]
struct Row {
    file: String,
    data: String,
}

/// A checked image of a state file.
#[derive(Debug, PartialEq)]
pub struct Image {
    /// `<sha256>.<ext>`.
    pub name: String,
    /// The image.
    pub bytes: Vec<u8>,
}

/// Adds every image stored in `folder` to `sink`, in name order. Files the folder does not store are skipped.
pub fn export(folder: &Folder, data_dir: &Path, sink: &mut impl RowSink) -> Result<usize, StateError> {
    let dir = (folder.dir)(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StateError::io(&dir)(e)),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| ImageFormat::is_content_name(name, folder.formats))
        .collect();
    names.sort();
    for name in &names {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(StateError::io(&path))?;
        let row = Row {
            file: name.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&bytes),
        };
        let json = serde_json::to_vec(&row).map_err(|e| StateError::Internal(e.to_string()))?;
        sink.row(folder.part, &json).map_err(StateError::Io)?;
    }
    Ok(names.len())
}

/// The images of `folder`'s extracted part (none when the file has no such part), each checked against its
/// name; a mismatch refuses the whole file.
pub fn read(folder: &Folder, parts: &Path) -> Result<Vec<Image>, StateError> {
    let path = parts.join(format!("{}.jsonl", folder.part));
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io(&path)(e)),
    };
    let bad = |what: String| StateError::Refused(format!("state file image ({}) {what}", folder.part));
    let mut images = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(StateError::io(&path))?;
        let row: Row = serde_json::from_str(&line).map_err(|e| bad(format!("row unreadable: {e}")))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&row.data)
            .map_err(|e| bad(format!("{}: {e}", row.file)))?;
        if folder.name_of(&bytes).as_deref() != Some(row.file.as_str()) {
            return Err(bad(format!("{} does not match its content", row.file)));
        }
        images.push(Image { name: row.file, bytes });
    }
    Ok(images)
}

/// Writes checked images into `folder` (content-addressed: a file already there is kept).
pub async fn restore(folder: &Folder, data_dir: &Path, images: Vec<Image>) -> Result<usize, StateError> {
    let n = images.len();
    for image in images {
        media::write_once((folder.dir)(data_dir), image.name, image.bytes).await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Vec<(String, Vec<u8>)>);

    impl RowSink for Lines {
        fn row(&mut self, table: &str, json: &[u8]) -> Result<(), String> {
            self.0.push((table.to_string(), json.to_vec()));
            Ok(())
        }
    }

    fn png() -> Vec<u8> {
        crate::domain::card::BLANK_PNG.to_vec()
    }

    /// Exports `folder` of `from` into a part file in a new directory; answers it and the part's text.
    fn exported(folder: &Folder, from: &Path, expected: usize) -> (tempfile::TempDir, String) {
        let mut sink = Lines(Vec::new());
        assert_eq!(export(folder, from, &mut sink).unwrap(), expected);
        assert!(sink.0.iter().all(|(part, _)| part == folder.part));
        let parts = tempfile::tempdir().unwrap();
        let text = sink
            .0
            .iter()
            .map(|(_, j)| String::from_utf8(j.clone()).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(parts.path().join(format!("{}.jsonl", folder.part)), &text).unwrap();
        (parts, text)
    }

    #[tokio::test]
    async fn avatars_go_out_and_come_back_checked() {
        let from = tempfile::tempdir().unwrap();
        let name = avatars::save(from.path(), png(), "png").await.unwrap();
        std::fs::write(avatars::dir(from.path()).join("notes.txt"), b"not an avatar").unwrap();
        let (parts, mut text) = exported(&AVATARS, from.path(), 1);
        let images = read(&AVATARS, parts.path()).unwrap();
        assert_eq!(
            images,
            vec![Image {
                name: name.clone(),
                bytes: png()
            }]
        );
        let to = tempfile::tempdir().unwrap();
        assert_eq!(restore(&AVATARS, to.path(), images).await.unwrap(), 1);
        assert_eq!(std::fs::read(avatars::dir(to.path()).join(&name)).unwrap(), png());

        // An image under another image's name is refused.
        text = text.replace(&name[..8], "00000000");
        std::fs::write(parts.path().join("avatars.jsonl"), &text).unwrap();
        assert!(matches!(read(&AVATARS, parts.path()), Err(StateError::Refused(_))));
        // No part: no images.
        let empty = tempfile::tempdir().unwrap();
        assert!(read(&AVATARS, empty.path()).unwrap().is_empty());
    }

    #[tokio::test]
    async fn chat_pictures_go_out_and_come_back_gifs_included() {
        let from = tempfile::tempdir().unwrap();
        let gif = crate::domain::image::Image::from_bytes(b"GIF89a\x01\x00\x01\x00tiny".to_vec()).unwrap();
        let png = crate::domain::image::Image::from_bytes(png()).unwrap();
        let names = media::save_images(from.path(), &[gif.clone(), png.clone()])
            .await
            .unwrap();
        let (parts, _) = exported(&MEDIA, from.path(), 2);
        let images = read(&MEDIA, parts.path()).unwrap();
        assert_eq!(images.len(), 2);
        let to = tempfile::tempdir().unwrap();
        assert_eq!(restore(&MEDIA, to.path(), images).await.unwrap(), 2);
        assert_eq!(std::fs::read(media::dir(to.path()).join(&names[0])).unwrap(), gif.bytes);
        assert_eq!(std::fs::read(media::dir(to.path()).join(&names[1])).unwrap(), png.bytes);

        // A GIF is no avatar: the avatars part refuses one.
        std::fs::rename(parts.path().join("media.jsonl"), parts.path().join("avatars.jsonl")).unwrap();
        assert!(matches!(read(&AVATARS, parts.path()), Err(StateError::Refused(_))));
    }
}
