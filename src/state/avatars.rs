//! Avatar images in state files (format 1.1): the `avatars` part holds one row per image stored in
//! `<data_dir>/avatars/`, `{"file": "<sha256>.<ext>", "data": "<base64>"}`. Saved after the tables; on load the
//! images are checked (name = content hash, bytes = the image type of the name) and written back before the
//! tables are replaced, so every `avatar_url` of the loaded personas finds its file.

use std::io::{BufRead, BufReader};
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StateError;
use crate::storage::avatars;
use crate::storage::snapshot::RowSink;

/// The part's (pseudo-)table name.
pub const PART: &str = "avatars";

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
    /// `png`, `jpg` or `webp`, as the bytes say.
    pub ext: &'static str,
    /// The image.
    pub bytes: Vec<u8>,
}

/// Adds every stored avatar image to `sink`, in name order. Files that are not stored avatars are skipped.
pub fn export(data_dir: &Path, sink: &mut impl RowSink) -> Result<usize, StateError> {
    let dir = avatars::dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StateError::io(&dir)(e)),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| avatars::is_stored_name(name))
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
        sink.row(PART, &json).map_err(StateError::Io)?;
    }
    Ok(names.len())
}

/// The images of an extracted `avatars` part (none when the file has no such part), each checked against its
/// name; a mismatch refuses the whole file.
pub fn read(parts: &Path) -> Result<Vec<Image>, StateError> {
    let path = parts.join(format!("{PART}.jsonl"));
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io(&path)(e)),
    };
    let bad = |what: String| StateError::Refused(format!("state file avatar {what}"));
    let mut images = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(StateError::io(&path))?;
        let row: Row = serde_json::from_str(&line).map_err(|e| bad(format!("row unreadable: {e}")))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&row.data)
            .map_err(|e| bad(format!("{}: {e}", row.file)))?;
        let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let ext = avatars::sniff_image(&bytes)
            .map(|(ext, _)| ext)
            .filter(|ext| row.file == format!("{hash}.{ext}"))
            .ok_or_else(|| bad(format!("{} does not match its content", row.file)))?;
        images.push(Image {
            name: row.file,
            ext,
            bytes,
        });
    }
    Ok(images)
}

/// Writes checked images into `<data_dir>/avatars/` (content-addressed: a file already there is kept).
pub async fn restore(data_dir: &Path, images: Vec<Image>) -> Result<usize, StateError> {
    let n = images.len();
    for image in images {
        avatars::save(data_dir, image.bytes, image.ext).await?;
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

    #[tokio::test]
    async fn avatars_go_out_and_come_back_checked() {
        let from = tempfile::tempdir().unwrap();
        let name = avatars::save(from.path(), png(), "png").await.unwrap();
        std::fs::write(avatars::dir(from.path()).join("notes.txt"), b"not an avatar").unwrap();
        let mut sink = Lines(Vec::new());
        assert_eq!(export(from.path(), &mut sink).unwrap(), 1);
        let parts = tempfile::tempdir().unwrap();
        let mut text = sink
            .0
            .iter()
            .map(|(_, j)| String::from_utf8(j.clone()).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(parts.path().join("avatars.jsonl"), &text).unwrap();
        let images = read(parts.path()).unwrap();
        assert_eq!(
            images,
            vec![Image {
                name: name.clone(),
                ext: "png",
                bytes: png()
            }]
        );
        let to = tempfile::tempdir().unwrap();
        assert_eq!(restore(to.path(), images).await.unwrap(), 1);
        assert_eq!(std::fs::read(avatars::dir(to.path()).join(&name)).unwrap(), png());

        // An image under another image's name is refused.
        text = text.replace(&name[..8], "00000000");
        std::fs::write(parts.path().join("avatars.jsonl"), &text).unwrap();
        assert!(matches!(read(parts.path()), Err(StateError::Refused(_))));
        // No part: no images.
        let empty = tempfile::tempdir().unwrap();
        assert!(read(empty.path()).unwrap().is_empty());
    }
}
