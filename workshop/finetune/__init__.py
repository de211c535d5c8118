"""LoRA finetuning: LitGPT's `finetune_lora` loop, owned here so it resumes; a progress bar; the run for recipes.

- `loop`: LitGPT's setup / main / fit from its public pieces, with full.py's resumable state dict
- `resume`: save/restore LoRA weights, optimizer, scheduler, data position and RNG; stop on signals
- `progress`: the tqdm bar fed by `fabric.log_dict`, metrics.csv kept across resumes, train.log
- `run`: `run_finetune`, what `workshop run` calls for a `finetune_lora` recipe
"""
