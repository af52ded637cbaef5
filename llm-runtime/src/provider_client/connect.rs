//! `ProviderConfig::connect`: the configuration turned into a client. It lives
//! here, above the config, so that the config never imports the client.

use super::ProviderClient;
use crate::config::ProviderConfig;
use crate::error::Result;
use crate::provider::Provider;

impl<P: Provider> ProviderConfig<P> {
    /// Validate and build the client, on the shared pool unless one was given.
    pub fn connect(self) -> Result<ProviderClient<P>> {
        let transport = self.resolve()?;
        Ok(ProviderClient::from_parts(
            self.settings,
            transport,
            self.unsupported_params,
            self.max_line,
        ))
    }
}
