"""Real-time hosting: model-server fleets behind endpoints, and the InvokeEndpoint router."""
