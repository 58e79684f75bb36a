//! The `persona-mcp` binary: parses the command line, loads settings, starts the server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use persona_mcp::app::build_embedder;
use persona_mcp::config::Settings;
use persona_mcp::server::Role;
use persona_mcp::simulate::Simulation;
use persona_mcp::storage::Store;
use persona_mcp::{memory, server};

/// A server that hosts AI personas over WebSocket JSON-RPC, streaming replies from a local LLM.
#[derive(Parser)]
#[command(name = "persona-mcp", version, about)]
struct Cli {
    /// Settings file (TOML); default: ./persona-mcp.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve WebSocket JSON-RPC on ws://HOST:PORT/mcp and the admin on http://ADMIN_HOST:ADMIN_PORT/admin/
    /// (the default).
    Serve {
        /// Which listeners this process runs: both, the WebSocket/MCP one, or the admin one (two processes may
        /// share one data dir).
        #[arg(long, value_enum, default_value_t = Role::All)]
        role: Role,
    },
    /// Serve the Model Context Protocol on stdin/stdout, for MCP hosts such as Claude Desktop (logs go to stderr).
    Stdio,
    /// Load and validate the settings, print them (secrets redacted) and exit.
    CheckConfig,
    /// Ask the server these settings describe whether it is ready (`GET /readyz` on loopback): exit 0 when it
    /// is, 1 when it is not or does not answer. For container health checks (the image has no curl).
    Healthcheck {
        /// The URL to ask instead (`http://HOST:PORT/readyz`).
        #[arg(long)]
        url: Option<String>,
        /// Seconds the whole check may take.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Run a conversation between two personas (or a chatroom of more) against the configured LLM and print the
    /// transcript.
    Simulate {
        /// The personas, comma-separated (ids or names; 2 to 8, three or more make a chatroom); the first speaks
        /// first.
        #[arg(long, value_delimiter = ',', default_values_t = ["Aria".to_string(), "Kira".to_string()])]
        personas: Vec<String>,
        /// Most turns before the conversation is ended.
        #[arg(long, default_value_t = 20)]
        turns: usize,
        /// What they talk about.
        #[arg(long, default_value = "general")]
        topic: String,
        /// Tokens the whole conversation may use.
        #[arg(long, default_value_t = 4000)]
        token_budget: i64,
    },
    /// Run one Matrix bot (started by the server's bot supervisor, which passes its settings on stdin).
    Bot {
        /// The bot's id (`bot.create` answers it).
        #[arg(long)]
        id: uuid::Uuid,
    },
    /// Print the method table as the Markdown list README.md holds.
    Methods,
    /// Long-term memory maintenance.
    Memory {
        #[command(subcommand)]
        action: MemoryCommand,
    },
    /// Copy every row of one database into another, replacing what it holds (servers stopped), e.g. a
    /// single-machine install to PostgreSQL. Bot secrets are not copied.
    Migrate {
        /// The database to read: `sqlite:PATH` or `postgres://…`.
        #[arg(long)]
        from: String,
        /// The database to replace: `sqlite:PATH` or `postgres://…`.
        #[arg(long)]
        to: String,
    },
    /// State files (snapshots of everything), with the server stopped.
    State {
        #[command(subcommand)]
        action: StateCommand,
    },
    /// Prompts as the model gets them.
    Prompt {
        #[command(subcommand)]
        action: PromptCommand,
    },
    /// Scenario tests of how personas behave.
    Scenario {
        #[command(subcommand)]
        action: ScenarioCommand,
    },
}

#[derive(Subcommand)]
enum PromptCommand {
    /// Print the exact prompt a persona's model would get for a message (nothing is sent or stored).
    Show {
        /// The persona (id or name).
        #[arg(long)]
        persona: String,
        /// The message.
        #[arg(long)]
        message: String,
        /// The client session whose conversation (history, topic threads) the message would join.
        #[arg(long, default_value = "cli")]
        session: String,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Play FILE.toml on a fresh temporary data dir, print the transcript and a report; exit 1 when an
    /// expectation fails.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// `fake`: the scripted model in the binary (the steps' replies, then echoes); `configured`: the
        /// configured LLM backend.
        #[arg(long, value_enum, default_value_t = ScenarioLlm::Fake)]
        llm: ScenarioLlm,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScenarioLlm {
    Fake,
    Configured,
}

#[derive(Subcommand)]
enum StateCommand {
    /// Write a snapshot to FILE, or to a new file in <data_dir>/state/.
    Save { file: Option<PathBuf> },
    /// Replace all data with FILE, or with the newest save.
    Load { file: Option<PathBuf> },
    /// Check FILE (or the newest save) without loading it.
    Verify { file: Option<PathBuf> },
    /// List the saves in <data_dir>/state/.
    List,
}

#[derive(Subcommand)]
enum MemoryCommand {
    /// Re-embed every memory with the configured embedder and rebuild the vector indexes.
    Reindex,
}

fn init_logging(settings: &Settings) {
    use tracing_subscriber::prelude::*;

    let filter = persona_mcp::live::log_filter::layer(&settings.logging.level);
    let recent = persona_mcp::logbuf::layer(persona_mcp::logbuf::global(settings.admin.log_lines));
    let registry = tracing_subscriber::registry().with(filter).with(recent);
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if settings.logging.json {
        registry.with(stderr.json()).init();
    } else {
        registry.with(stderr).init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve { role: Role::All }) {
        Command::CheckConfig => match serde_json::to_string_pretty(&settings.redacted()) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("persona-mcp: {e}");
                ExitCode::from(1)
            }
        },
        Command::Serve { role } => serve(settings, role),
        Command::Healthcheck { url, timeout_secs } => healthcheck(&settings, url, timeout_secs),
        Command::Bot { id } => persona_mcp::bot::main(id, &settings.logging.level),
        Command::Methods => {
            let router = persona_mcp::rpc::router();
            println!("{}", persona_mcp::rpc::docs::methods_markdown(&router));
            ExitCode::SUCCESS
        }
        Command::Stdio => {
            init_logging(&settings);
            persona_mcp::mcp::stdio::run(settings)
        }
        Command::Memory {
            action: MemoryCommand::Reindex,
        } => reindex(settings),
        Command::State { action } => state(settings, action),
        Command::Scenario {
            action: ScenarioCommand::Run { file, llm },
        } => scenario(settings, &file, llm),
        Command::Migrate { from, to } => migrate(settings, &from, &to),
        Command::Prompt {
            action:
                PromptCommand::Show {
                    persona,
                    message,
                    session,
                },
        } => prompt_show(
            settings,
            persona_mcp::prompt_show::PromptQuery {
                persona,
                message,
                session,
            },
        ),
        Command::Simulate {
            personas,
            turns,
            topic,
            token_budget,
        } => simulate(settings, personas, turns, topic, token_budget),
    }
}

fn healthcheck(settings: &Settings, url: Option<String>, timeout_secs: u64) -> ExitCode {
    let url = url.unwrap_or_else(|| persona_mcp::healthcheck::local_url(settings));
    match persona_mcp::healthcheck::probe(&url, std::time::Duration::from_secs(timeout_secs)) {
        Ok(probe) => {
            println!("{} {}", probe.status, probe.body.trim());
            if probe.ready() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(1)
        }
    }
}

fn simulate(settings: Settings, personas: Vec<String>, turns: usize, topic: String, token_budget: i64) -> ExitCode {
    if !(2..=8).contains(&personas.len()) {
        eprintln!("persona-mcp: --personas takes 2 to 8 personas, e.g. --personas Aria,Kira or Aria,Kira,Bard3");
        return ExitCode::from(2);
    }
    let sim = Simulation {
        personas,
        turns,
        topic,
        token_budget,
    };
    match actix_web::rt::System::new().block_on(persona_mcp::simulate::run(settings, sim)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(1)
        }
    }
}

fn prompt_show(settings: Settings, query: persona_mcp::prompt_show::PromptQuery) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(persona_mcp::prompt_show::show(settings, query));
    match result {
        Ok(shown) => {
            print!("{}", persona_mcp::prompt_show::render(&shown));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(1)
        }
    }
}

fn scenario(settings: Settings, file: &std::path::Path, llm: ScenarioLlm) -> ExitCode {
    let model = match llm {
        ScenarioLlm::Fake => persona_mcp::scenario::Model::Fake,
        ScenarioLlm::Configured => persona_mcp::scenario::Model::Configured,
    };
    match actix_web::rt::System::new().block_on(persona_mcp::scenario::run_file(settings, file, model)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(2)
        }
    }
}

fn reindex(settings: Settings) -> ExitCode {
    init_logging(&settings);
    let result = actix_web::rt::System::new().block_on(async move {
        let s = &settings.storage;
        let store = Store::connect(s).map_err(|e| (1, e.to_string()))?;
        let embedder = build_embedder(&settings)
            .map_err(|e| (e.exit_code(), e.to_string()))?
            .ok_or((
                2,
                "no embedder: set embedder.provider and install the model (make model)".to_string(),
            ))?;
        let dir = s.data_dir.join("vectors");
        memory::reindex::reindex(&store, embedder, &dir, settings.embedder.batch_size)
            .await
            .map_err(|e| (1, e.to_string()))
    });
    match result {
        Ok(n) => {
            println!("re-embedded {n} memories");
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(code)
        }
    }
}

fn state(settings: Settings, action: StateCommand) -> ExitCode {
    init_logging(&settings);
    let action = match action {
        StateCommand::Save { file } => persona_mcp::state::cli::Action::Save(file),
        StateCommand::Load { file } => persona_mcp::state::cli::Action::Load(file),
        StateCommand::Verify { file } => persona_mcp::state::cli::Action::Verify(file),
        StateCommand::List => persona_mcp::state::cli::Action::List,
    };
    let result = actix_web::rt::System::new().block_on(persona_mcp::state::cli::run(&settings, action));
    match result {
        Ok(out) => {
            println!("{out:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(1)
        }
    }
}

fn migrate(settings: Settings, from: &str, to: &str) -> ExitCode {
    init_logging(&settings);
    let source_file = from.strip_prefix("sqlite:").unwrap_or(from);
    if !from.starts_with("postgres") && !std::path::Path::new(source_file).is_file() {
        // Opening it would create an empty database, and copying that would empty the target.
        eprintln!("persona-mcp: --from: no SQLite file at {source_file}");
        return ExitCode::from(2);
    }
    let open = |url: &str| {
        let mut s = settings.storage.clone();
        s.database_url = Some(url.to_string());
        Store::connect(&s)
    };
    let result = actix_web::rt::System::new().block_on(async {
        let (from, to) = (open(from)?, open(to)?);
        persona_mcp::storage::copy::copy(&from, &to).await
    });
    match result {
        Ok(counts) => {
            let rows: serde_json::Map<String, serde_json::Value> = counts
                .into_iter()
                .map(|(table, n)| (table.to_string(), n.into()))
                .collect();
            println!("{:#}", serde_json::json!({ "copied": rows }));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(1)
        }
    }
}

fn serve(settings: Settings, role: Role) -> ExitCode {
    init_logging(&settings);
    server::raise_open_file_limit();
    let result = actix_web::rt::System::new().block_on(async move {
        let running = server::start_role(settings, role).map_err(|e| (e.exit_code(), e.to_string()))?;
        running.run().await.map_err(|e| (1, e.to_string()))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(code)
        }
    }
}
