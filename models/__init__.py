"""The style-transfer engine: images and parameters in, stylized images out.

Pure by design: no web, queue or Redis code is imported here, so the engine runs alone
from the command line and inside any worker.

Torch-free (the API process shares them):
- ``params``: ``StyleParams`` and ``check_inputs``, the one set of input rules;
- ``types``: progress events and results; ``errors``: the typed errors;
- ``images``: decoding untrusted uploads, resizing, encoding results;
- ``weights``: the weight files, verified against ``manifest.json``.

With torch:
- ``stylizer``: ``Stylizer``, the front door (load once, call per job);
- ``cascade``: the feed-forward AdaIN/WCT cascade and its recipes;
- ``gatys``: the optimisation mode; ``transforms``: AdaIN, WCT, Gram, one function each;
- ``networks/``: the encoders and decoders; ``tensors``: pixels ↔ tensors;
- ``runtime``: process-wide tuning that workers and the command line switch on.
"""
