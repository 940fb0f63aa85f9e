"""Video: stylize a clip frame by frame, without flicker.

Torch-free pieces the API shares (import them directly):

- ``formats``: ``sniff_video`` routes an upload (an animated GIF/WebP with more than one
  frame is a video), the output formats and their MIME types;
- ``params``: ``VideoParams`` (output format, temporal on/off), ``check_video_params``;
- ``source`` and ``probe``: ``VideoLimits`` and ``probe_video``, the upload check;
- ``decode`` and ``encode``: frames streamed in and out (PyAV, Pillow for animations).

The engine side needs torch: ``temporal`` (smoothed statistics, optical-flow blending,
scene cuts) and ``stylize`` (``stylize_video``, the frame loop).
"""
