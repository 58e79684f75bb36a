//! The `images` param of chat methods: each picture decoded and checked (count, size, format by its magic
//! bytes) and stored by content hash under the data dir before the turn runs.

use super::context::Ctx;
use crate::domain::image::{self, Image};
use crate::error::AppError;
use crate::storage::media;

/// The pictures of a chat message, checked and stored; -32602 naming `images` when one is refused.
pub async fn accept(ctx: &Ctx, images: &[String]) -> Result<Vec<Image>, AppError> {
    let settings = ctx.app.settings.current();
    let chat = &settings.chat;
    if images.len() > chat.max_images {
        return Err(AppError::invalid(
            "images",
            format!(
                "images must hold at most {} images, got {}",
                chat.max_images,
                images.len()
            ),
        ));
    }
    let decoded = images
        .iter()
        .enumerate()
        .map(|(i, text)| {
            image::decode(text, chat.max_image_bytes)
                .map_err(|e| AppError::invalid("images", format!("images[{i}] {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    media::save_images(&settings.storage.data_dir, &decoded).await?;
    Ok(decoded)
}
