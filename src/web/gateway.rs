//! The transports' state beside the core services: the method table with MCP above it (and the MCP sessions),
//! the open connections, the connection slots. Every route receives it as `web::Data<Arc<Gateway>>`.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::app::Core;
use crate::mcp::Dispatcher;
use crate::rpc::context::{Connection, Ctx};
use crate::rpc::hub::Hub;
use crate::rpc::router::Router;

/// The core services plus what only the transports keep.
pub struct Gateway {
    /// The core services (also reachable directly through `Deref`).
    pub core: Arc<Core>,
    /// Open connections.
    pub hub: Arc<Hub>,
    /// The JSON-RPC method table (the admin API calls it directly).
    pub router: Arc<Router>,
    /// MCP above the method table: what the MCP and WebSocket transports hand their frames to.
    pub mcp: Dispatcher,
    /// Connection slots (max connections).
    pub connection_slots: Arc<Semaphore>,
}

impl Gateway {
    /// A gateway over `core` serving `router`, with `server.max_connections` slots.
    pub fn new(core: Arc<Core>, router: Router) -> Arc<Self> {
        let router = Arc::new(router);
        Arc::new(Self {
            connection_slots: Arc::new(Semaphore::new(core.settings.current().server.max_connections)),
            core,
            hub: Arc::new(Hub::default()),
            mcp: Dispatcher::new(router.clone()),
            router,
        })
    }

    /// The context of a connection's calls.
    pub fn ctx(&self, conn: Arc<Connection>) -> Ctx {
        Ctx::new(self.core.clone(), self.hub.clone(), conn)
    }
}

impl Deref for Gateway {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}
