"""Provider adapters: each provider's real wire protocol behind one interface (`base.ProviderAdapter`)."""
