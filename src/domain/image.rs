//! Pictures sent with a chat message: decoding (plain base64 or a `data:` URL), the format by its magic bytes
//! (PNG, JPEG, WebP, GIF), limits, the content hash they are stored under, and whether a model can see them.

use base64::Engine;
use sha2::{Digest, Sha256};

/// An image format the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
    /// GIF (87a or 89a).
    Gif,
}

impl ImageFormat {
    /// Every accepted format.
    pub const ALL: [Self; 4] = [Self::Png, Self::Jpeg, Self::Webp, Self::Gif];

    /// True for a name images are stored under: `<sha256 hex>.<ext>`, `ext` the extension of one of `formats`.
    pub fn is_content_name(name: &str, formats: &[Self]) -> bool {
        let Some((hash, ext)) = name.split_once('.') else {
            return false;
        };
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && formats.iter().any(|f| f.extension() == ext)
    }

    /// The format the bytes start with, if any accepted one.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Self::Webp),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }
}

/// A decoded, checked image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its format, from its magic bytes.
    pub format: ImageFormat,
    /// The raw bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, lowercase hex: the name it is stored under.
    pub hash: String,
}

impl Image {
    /// Checks raw bytes and wraps them.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        let format = ImageFormat::sniff(&bytes).ok_or(ImageError::UnknownFormat)?;
        let hash = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self { format, bytes, hash })
    }

    /// The file name it is stored under: `<sha256>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.hash, self.format.extension())
    }

    /// The bytes as standard base64 (what Ollama's `images` takes).
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// A `data:` URL (what OpenAI-compatible `image_url` parts take).
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.format.mime(), self.base64())
    }
}

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Nothing was sent.
    #[error("is empty")]
    Empty,
    /// Neither base64 nor a base64 `data:` URL.
    #[error("must be base64 or a data URL (data:image/png;base64,...)")]
    NotBase64,
    /// The bytes are no PNG, JPEG, WebP or GIF.
    #[error("must be a PNG, JPEG, WebP or GIF image")]
    UnknownFormat,
    /// Larger than allowed.
    #[error("must be at most {0} bytes")]
    TooLarge(usize),
}

/// Decodes one image sent as base64 or as a `data:<mime>;base64,<data>` URL, refusing it without decoding when
/// its text is already too long for `max_bytes`.
pub fn decode(input: &str, max_bytes: usize) -> Result<Image, ImageError> {
    let text = input.trim();
    let payload = match text.strip_prefix("data:") {
        Some(rest) => {
            let (header, data) = rest.split_once(',').ok_or(ImageError::NotBase64)?;
            if !header.ends_with(";base64") {
                return Err(ImageError::NotBase64);
            }
            data
        }
        None => text,
    };
    let payload: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if payload.is_empty() {
        return Err(ImageError::Empty);
    }
    if payload.len() / 4 * 3 > max_bytes + 3 {
        return Err(ImageError::TooLarge(max_bytes));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.as_bytes())
        .map_err(|_| ImageError::NotBase64)?;
    if bytes.len() > max_bytes {
        return Err(ImageError::TooLarge(max_bytes));
    }
    Image::from_bytes(bytes)
}

/// True when `model` can look at images: its name (case-insensitive, any `provider/` prefix ignored) starts with
/// one of `vision_models`, or the list holds `*`.
pub fn model_sees_images(model: &str, vision_models: &[String]) -> bool {
    let name = model.trim().to_lowercase();
    let name = name.rsplit('/').next().unwrap_or(&name);
    vision_models.iter().any(|entry| {
        let entry = entry.trim().to_lowercase();
        entry == "*" || (!entry.is_empty() && name.starts_with(&entry))
    })
}

/// What a model without vision is told in place of the pictures.
pub fn unseen_note(images: &[Image]) -> String {
    let kinds: Vec<&str> = images.iter().map(|i| i.format.extension()).collect();
    let count = match images.len() {
        1 => "an image".to_string(),
        n => format!("{n} images"),
    };
    format!(
        "[The user also sent {count} ({}), but you cannot see images: say so briefly if it matters.]",
        kinds.join(", ")
    )
}

/// The text of the user's message as the model gets it: unchanged when it sees the pictures (or there are
/// none), else with [`unseen_note`] after it.
pub fn message_for_model(message: &str, images: &[Image], model_sees: bool) -> String {
    if images.is_empty() || model_sees {
        message.to_string()
    } else {
        format!("{message}\n\n{}", unseen_note(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_names_are_a_hash_and_an_extension_of_the_formats() {
        let hash = "a".repeat(64);
        assert!(ImageFormat::is_content_name(&format!("{hash}.gif"), &ImageFormat::ALL));
        assert!(!ImageFormat::is_content_name(
            &format!("{hash}.gif"),
            &[ImageFormat::Png]
        ));
        assert!(!ImageFormat::is_content_name("notes.txt", &ImageFormat::ALL));
        assert!(!ImageFormat::is_content_name(
            &format!("{}.png", "g".repeat(64)),
            &ImageFormat::ALL
        ));
    }

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn formats_are_told_by_magic_bytes() {
        assert_eq!(ImageFormat::sniff(PNG), Some(ImageFormat::Png));
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 1]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(ImageFormat::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(b"GIF89a\x01\0"), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"GIF87a"), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(ImageFormat::sniff(b"%PDF-1.7"), None);
    }

    #[test]
    fn base64_and_data_urls_decode_to_the_same_image() {
        let plain = decode(&b64(PNG), 1024).unwrap();
        let url = decode(&format!("data:image/png;base64,{}", b64(PNG)), 1024).unwrap();
        assert_eq!(plain, url);
        assert_eq!(plain.format, ImageFormat::Png);
        assert_eq!(plain.hash.len(), 64);
        assert!(plain.file_name().ends_with(".png"));
        assert_eq!(plain.data_url(), format!("data:image/png;base64,{}", b64(PNG)));
    }

    #[test]
    fn bad_images_say_why() {
        assert_eq!(decode("", 10), Err(ImageError::Empty));
        assert_eq!(decode("not base64 !!", 1024), Err(ImageError::NotBase64));
        assert_eq!(decode("data:image/png,rawtext", 1024), Err(ImageError::NotBase64));
        assert_eq!(decode(&b64(b"%PDF-1.7 hello"), 1024), Err(ImageError::UnknownFormat));
        assert_eq!(decode(&b64(&[0u8; 4000]), 100), Err(ImageError::TooLarge(100)));
        assert_eq!(
            decode(&b64(PNG), PNG.len() - 1),
            Err(ImageError::TooLarge(PNG.len() - 1))
        );
        assert!(decode(&b64(PNG), PNG.len()).is_ok());
    }

    #[test]
    fn vision_models_match_by_prefix() {
        let list = vec!["llava".to_string(), "gpt-4o".to_string()];
        assert!(model_sees_images("llava:13b", &list));
        assert!(model_sees_images("LLaVA", &list));
        assert!(model_sees_images("openai/gpt-4o-mini", &list));
        assert!(!model_sees_images("llama3.2", &list));
        assert!(model_sees_images("anything", &["*".to_string()]));
        assert!(!model_sees_images("anything", &[]));
    }

    #[test]
    fn the_note_counts_the_pictures() {
        let png = Image::from_bytes(PNG.to_vec()).unwrap();
        assert!(unseen_note(std::slice::from_ref(&png)).contains("an image (png)"));
        assert!(unseen_note(&[png.clone(), png.clone()]).contains("2 images (png, png)"));
        assert_eq!(message_for_model("hi", std::slice::from_ref(&png), true), "hi");
        assert_eq!(message_for_model("hi", &[], false), "hi");
        assert!(message_for_model("hi", &[png], false).starts_with("hi\n\n[The user also sent an image"));
    }
}
