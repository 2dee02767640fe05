"""Fine-tune a local model on the user's examples (LoRA with PEFT) and make it a model.

The `tune` extra (torch, transformers, peft) is imported only inside the functions that
train; data reading, memory estimates and the GGUF adapter converter need none of it, and
the rest of openscout never imports this package's training parts.

    data.py      JSONL examples (chat or prompt/completion), the held-out split
    prepare.py   examples as the engine's own prompt tokens, answer-only labels
    memory.py    training memory before loading (weights, adapter, optimizer, activations)
    base.py      the base GGUF as float weights (transformers), cached once dequantized
    train.py     the training loop: seeded order, checkpoints, resume
    convert.py   PEFT adapter -> GGUF LoRA adapter for llama.cpp (numpy + gguf)
    register.py  the registry entry (base + `lora`) and the user's catalog entry (adapter)
    log.py       runs and per-step losses in the store
    run.py       `tune()`: all of the above in order
"""
