"""LoRA finetuning on LitGPT's own `finetune_lora`: resumable runs, a progress bar, label-word classifiers.

- `run`: calls `litgpt.finetune.lora.setup` in-process with the hooks below
- `resume`: save/restore LoRA weights, optimizer, scheduler, data position and RNG at step boundaries
- `progress`: the tqdm bar fed by LitGPT's logging, metrics.csv kept across resumes, train.log
- `labels`: the `LabelWords` DataModule and `workshop data classify-to-instructions`
"""
