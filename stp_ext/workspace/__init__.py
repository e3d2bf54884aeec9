"""The one road to a Databricks workspace: auth, the client, transport limits, the SDK loader."""
