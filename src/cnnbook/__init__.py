"""Shared code for the course *Convolutional Networks for Computer Vision*.

Only what several chapters or assignments use lives here, never what a student must write:

- :mod:`cnnbook.device`: pick the accelerator, seed every random generator;
- :mod:`cnnbook.check`: numerical gradients and friendly comparisons for tests;
- :mod:`cnnbook.plot`: image grids, training curves, decision boundaries;
- :mod:`cnnbook.data`: every dataset of the course, offline first, and augmentation;
- :mod:`cnnbook.models`: EfficientNet-Lite0 with its packaged ImageNet weights;
- :mod:`cnnbook.train`: a small training loop with progress bars and a metrics history;
- :mod:`cnnbook.arch`: layer arithmetic (output sizes, parameters, multiply-adds, receptive fields).
- :mod:`cnnbook.diagram`: architecture diagrams traced from the ``nn.Module`` itself.
"""

__version__ = "0.1.0"
