"""GPT-2 from scratch (workshop sections 2-5), one concept per module.

- `tokenizer`: SimpleTokenizerV1/V2, build_vocab, gpt2_tokenizer (offline-safe tiktoken)
- `data`: GPTDatasetV1, create_dataloader_v1, train_val_loaders, load_text (file or URL)
- `model`: GPT_CONFIG_124M, MODEL_CONFIGS, GPTModel and its blocks (+ additions: KV cache, SDPA attention)
- `generate`: generate_text_simple, generate (temperature, top-k, eos; + addition: KV cache)
- `train`: calc_loss_batch/loader, evaluate_model, generate_and_print_sample, train_model_simple (the book's)
- `trainer` (addition): train_model = the book's loop + progress bar, autocast, warmup/cosine, clipping,
  checkpoints and exact resume, JSONL metrics; lr schedule, perplexity
- `checkpoint`, `plots`, `config`, `pretrain`: model.pth + resume state, loss plots, YAML presets, the CLI's run
- `openai_weights`: download_and_load_gpt2, load_weights_into_gpt
- `lora`: LoRALayer, LinearWithLoRA, replace_linear_with_lora

Import the submodules directly (`from workshop.gpt.model import GPTModel`); this package
imports nothing itself, so `workshop --help` stays fast.
"""
