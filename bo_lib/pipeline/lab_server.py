"""The Lab's Jupyter contents manager (``bo lab`` starts the server with it): everything under
``archived/`` in the working copy is read-only through Jupyter (``writable: false``, so JupyterLab
shows the notebook read-only and never autosaves it; save, rename and delete are refused), whatever
the file's mode says to the user running the server (root can write a 0444 file)."""

from __future__ import annotations

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

ARCHIVED = "archived"  # bo_lib.pipeline.lab.ARCHIVED (not imported: the server loads this module alone)


def is_archived(path: str) -> bool:
    return path.strip("/").split("/")[0] == ARCHIVED


class LabContentsManager(AsyncLargeFileManager):
    """The default contents manager, with ``archived/`` read-only."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if is_archived(path):
            model["writable"] = False
        if model.get("type") == "directory" and isinstance(model.get("content"), list):
            for child in model["content"]:
                if is_archived(child.get("path", "")):
                    child["writable"] = False
        return model

    def _refuse(self, path: str) -> None:
        if is_archived(path):
            raise web.HTTPError(403, f"{path} is a read-only copy of an archived notebook (the archive is sealed)")

    async def save(self, model, path=""):
        self._refuse(path)
        return await super().save(model, path)

    async def delete_file(self, path):
        self._refuse(path)
        return await super().delete_file(path)

    async def rename_file(self, old_path, new_path):
        self._refuse(old_path)
        self._refuse(new_path)
        return await super().rename_file(old_path, new_path)

    async def new(self, model=None, path=""):
        self._refuse(path)
        return await super().new(model, path)
