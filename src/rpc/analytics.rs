//! `conversation.analytics`, over [`crate::ops::analytics`].

use super::context::Ctx;
use super::router::Router;
use crate::error::AppError;
use crate::ops::analytics::{self, AnalyticsParams};
use crate::ops::results::analytics::ConversationAnalytics;

/// Registers the method.
pub fn register(r: &mut Router) {
    r.method(
        "conversation.analytics",
        "Per persona: conversations, turns, tokens, latency and time to first chunk (p50/p95), threads, \
         continue-score and emotional-state curves, relationship changes, most recalled memories",
        conversation_analytics,
    );
}

async fn conversation_analytics(ctx: Ctx, p: AnalyticsParams) -> Result<ConversationAnalytics, AppError> {
    analytics::conversations(&ctx.app, p).await
}
