"""Tools for AI agents: ``zohocrm mcp``, a Model Context Protocol server over a broker workspace.

Needs the optional ``mcp`` extra (``pip install 'zohocrm-connector[mcp]'``); :mod:`.tools` (the
schemas and answers) does not, the server (:mod:`.server`) does.
"""
