//! The request and response types of the admin API as OpenAPI components: their schemas come from their
//! `schemars` derives ([`crate::openapi_schemas`]); the names are the API's (unique, where the Rust names repeat
//! across namespaces). Request types leave out the fields a route takes from its path.

use super::avatars::AvatarSaved;
use super::cards::{CardJson, ImportedPersona};
use super::conversations::ConversationPage;
use super::logs::LogTail;
use super::memories::{BulkDelete, MemoryPage};
use super::personas::PersonaPage;
use super::social::RelationshipPage;
use super::state::{LoadRequest, StateFileRequest};
use crate::actors::bot_supervisor::BotView;
use crate::domain::compatibility::CompatibilityReport;
use crate::logbuf::LogLine;
use crate::ops::config::ConfigSetParams;
use crate::ops::memory::edit::MemoryPatch;
use crate::ops::persona::{emotions as emotional, fields as persona};
use crate::ops::relationship;
use crate::ops::results::analytics::ConversationAnalytics;
use crate::ops::results::bot::{BotDeleted, BotList, BotLogLines};
use crate::ops::results::config::{ConfigChanged, ConfigView};
use crate::ops::results::memory::BulkDeleted;
use crate::ops::results::persona::{CardWithStats, Deleted, Emotions, EmotionsUpdated, Status};
use crate::ops::results::relationship::{RelationshipFound, RelationshipStatsResult, RelationshipUpdated};
use crate::ops::results::system::{Models, SystemStatus};
use crate::ops::results::transcripts::Transcript;
use crate::ops::state_files::{DeleteResult, ListResult, LoadResult, SaveResult, VerifyResult};
use crate::rpc::results::memory::{
    CrossSearchResult, DecayForced, DecayStarted, DecayStatsResult, DecayStopped, Imported, MemoryDeleted, MemoryView,
    PruneRecommendations, PruneStats, Pruned, PrunedAll, SharedStatsResult, StatsOf,
};
use crate::rpc::{bot, memory};
use crate::state::SaveInfo;
use crate::web::error::ErrorBody;

crate::openapi_schemas!(fn responses; Response:
    ErrorBody => "ErrorBody",
    PersonaPage => "PersonaPage",
    CardWithStats => "PersonaCard",
    Deleted => "PersonaDeleted",
    Status => "PersonaStatusReport",
    PruneRecommendations => "PruneRecommendations",
    Pruned => "Pruned",
    Emotions => "Emotions",
    EmotionsUpdated => "EmotionsUpdated",
    AvatarSaved => "AvatarSaved",
    CardJson => "CharacterCard",
    ImportedPersona => "ImportedPersona",
    ConversationPage => "ConversationPage",
    Transcript => "Transcript",
    ConversationAnalytics => "ConversationAnalytics",
    LogTail => "LogTail",
    LogLine => "LogLine",
    DecayStatsResult => "DecayStatsResult",
    DecayStarted => "DecayStarted",
    DecayStopped => "DecayStopped",
    DecayForced => "DecayForced",
    PrunedAll => "PrunedAll",
    PruneStats => "PruneStats",
    SystemStatus => "SystemStatus",
    Models => "Models",
    RelationshipPage => "RelationshipPage",
    RelationshipFound => "RelationshipFound",
    RelationshipUpdated => "RelationshipUpdated",
    RelationshipStatsResult => "RelationshipStatsResult",
    CompatibilityReport => "CompatibilityReport",
    MemoryPage => "MemoryPage",
    MemoryView => "MemoryView",
    BulkDeleted => "BulkDeleted",
    MemoryDeleted => "MemoryDeleted",
    Imported => "MemoriesImported",
    StatsOf => "StatsOf",
    CrossSearchResult => "CrossSearchResult",
    SharedStatsResult => "SharedStatsResult",
    BotList => "BotList",
    BotView => "BotView",
    BotDeleted => "BotDeleted",
    BotLogLines => "BotLogLines",
    ListResult => "StateSaveList",
    SaveResult => "StateSaved",
    VerifyResult => "StateVerified",
    LoadResult => "StateLoaded",
    DeleteResult => "StateDeleted",
    SaveInfo => "SaveInfo",
    ConfigView => "ConfigView",
    ConfigChanged => "ConfigChanged",
);

crate::openapi_schemas!(fn requests; Request:
    persona::CreateParams => "PersonaCreate",
    persona::UpdateParams => "PersonaPatch" [without "persona_id"],
    memory::PruneParams => "PruneOptions" [without "persona_id"],
    emotional::UpdateStateParams => "EmotionsPatch" [without "persona_id"],
    memory::StoreParams => "MemoryCreate",
    memory::ImportParams => "MemoryImport",
    MemoryPatch => "MemoryPatch",
    BulkDelete => "BulkDelete",
    memory::DecayStartParams => "DecayStart",
    memory::DecayForceParams => "DecayForce",
    relationship::UpdateParams => "RelationshipInteraction" [without "persona1_id", "persona2_id"],
    bot::CreateParams => "BotCreate",
    bot::UpdateParams => "BotPatch" [without "bot_id"],
    StateFileRequest => "StateFileRequest",
    LoadRequest => "StateLoadRequest",
    ConfigSetParams => "ConfigSet",
);
