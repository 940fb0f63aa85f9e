"""The style-transfer engine: images and parameters in, stylized images out.

Pure by design: no web, queue or Redis code is imported here, so the engine runs alone
from the command line and inside any worker. Import the heavy parts explicitly
(`models.stylizer`, `models.gatys`); `models.params`, `models.errors` and
`models.images` stay free of torch so that the API process can share them.
"""
