"""Models: LitGPT checkpoints (download, the offline GGUF build), loading, the batched engine, devices, the OpenAI-compatible client and the Fabric launcher."""
