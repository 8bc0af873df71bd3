"""Services: what is deployed and imported together, and where its imports resolve.

A repository may hold several back ends, each with a top-level package of the same name (`app/` in every service,
as the official samples lay them out). Python resolves `import app.server` against the service that runs, never
against a neighbour, so the model does the same: a module resolves only from the importing file's own import base
and from the roots of its service. A name found nowhere there is an installed package, never another service's file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..pyast import module_name_for

# scripts that are run from their own folder (`python main.py`, `uvicorn main:app`): that folder is an import root
ENTRY_NAMES = frozenset({"main.py", "app.py"})


@dataclass(eq=False)
class Service:
    """A deployable Python unit: a folder holding a project file (or a configured back end), or the repository."""

    folder: Path
    kind: str  # "service" | "repository"
    roots: list[Path] = field(default_factory=list)  # import roots, most specific first

    def __repr__(self) -> str:
        return f"Service({self.folder}, {self.kind})"

    def contains(self, path: Path) -> bool:
        return path == self.folder or self.folder in path.parents


class Services:
    """Answers which service a file belongs to and resolves dotted module names as that service would."""

    def __init__(self, project):
        self.project = project
        self._by_folder: dict[Path, Service] = {}
        self._bases: dict[str, Path] = {}
        self._found: dict[tuple[Path, str], Path | None] = {}

    # ---- membership ----------------------------------------------------------------------------------------------

    def of(self, path: Path) -> Service:
        unit = self.project.scope.unit_of(path)
        if unit.kind == "service":
            folder, kind = unit.folder, "service"
        else:
            folder, kind = self.project.root, "repository"
        service = self._by_folder.get(folder)
        if service is None:
            service = self._by_folder[folder] = Service(folder, kind)
            service.roots = self._roots(service)
        return service

    def _roots(self, service: Service) -> list[Path]:
        """The service folder, its `src/`, configured roots inside it, and the folders its entry scripts run from."""
        roots = [service.folder]
        roots.extend(self._source_layout(service.folder))
        for configured in self.project.settings.backend_roots:
            folder = self.project.root / configured
            if service.contains(folder) and folder not in roots:
                roots.append(folder)
        for path in self.project.files_under(service.folder, "python"):
            if path.name in ENTRY_NAMES and self.of_folder_is(path, service):
                # `uvicorn main:app` in its folder, or `uvicorn app.main:app` above its package
                for base in (self.import_base(path), path.parent):
                    if base not in roots:
                        roots.append(base)
        return roots

    @staticmethod
    def _source_layout(folder: Path) -> list[Path]:
        """`folder/src` when it is a src layout's import root (not a regular package named `src`)."""
        source = folder / "src"
        return [source] if source.is_dir() and not (source / "__init__.py").is_file() else []

    def of_folder_is(self, path: Path, service: Service) -> bool:
        """Whether `path` belongs to `service` rather than to a service nested inside it."""
        unit = self.project.scope.unit_of(path)
        if unit.kind == "service":
            return unit.folder == service.folder
        return service.kind == "repository"

    # ---- names ---------------------------------------------------------------------------------------------------

    def import_base(self, path: Path) -> Path:
        """The folder a file's absolute imports start from when its top package is imported: the folder above its
        topmost regular package, or its own folder."""
        folder = str(path.parent)
        base = self._bases.get(folder)
        if base is None:
            top = folder
            root = str(self.project.root)
            while top != root and os.path.isfile(os.path.join(top, "__init__.py")):
                parent = os.path.dirname(top)
                if parent == top:
                    break
                top = parent
            base = self._bases[folder] = Path(top)
        return base

    def search_roots(self, importer: Path) -> list[Path]:
        """Where an absolute import in `importer` is looked for, in order: its import base, then its service's roots."""
        service = self.of(importer)
        base = self.import_base(importer)
        return [base, *(root for root in service.roots if root != base)]

    def module_name(self, path: Path) -> str:
        """The dotted name `path` is imported as inside its service: from above its topmost regular package, or, for
        a file outside packages, the shortest name any root of its service gives it."""
        base = self.import_base(path)
        if base != path.parent:
            return module_name_for(path.relative_to(base).parts)
        names = [module_name_for(path.relative_to(root).parts) for root in self.of(path).roots if root in path.parents]
        return min((name for name in names if name), key=len, default=path.stem)

    def resolve(self, dotted: str, importer: Path) -> Path | None:
        """The project file defining module `dotted` as `importer` would import it, or None (an installed package)."""
        if not dotted or not all(part.isidentifier() for part in dotted.split(".")):
            return None
        parts = dotted.split(".")
        for root in [*self.search_roots(importer), *self._ancestry_root(importer, parts[0])]:
            key = (root, dotted)
            if key not in self._found:
                self._found[key] = self._probe(root.joinpath(*parts))
            found = self._found[key]
            if found is not None and found != importer:  # `chatkit.py` importing `chatkit.store` means the package
                return found
        return None

    def _ancestry_root(self, importer: Path, first: str) -> list[Path]:
        """The folder from which `first` names a folder holding the importer: `import apps.orchestrator.api` inside
        `apps/orchestrator/` runs from the repository root, through namespace packages, wherever the service is."""
        for folder in importer.parents:
            if folder.name == first and (folder.parent == self.project.root or self.project.root in folder.parents):
                return [folder.parent]
        return []

    def resolve_from(self, dotted: str, folder: Path) -> Path | None:
        """The module a command run in `folder` imports (`uvicorn app.main:app`, `python -m app.main`): from the
        folder itself and its `src/`, then the roots of the service the folder belongs to; failing those, the one
        service below the folder that has it (a platform file at the repository root whose service sets its own
        root directory, as Render's `rootDir` or a compose `build` context does)."""
        if not dotted or not all(part.isidentifier() for part in dotted.split(".")):
            return None
        parts = dotted.split(".")
        roots = [folder, *self._source_layout(folder), *self.of(folder / "__main__.py").roots]
        for root in dict.fromkeys(roots):
            found = self._probe(root.joinpath(*parts))
            if found is not None:
                return found
        below = {
            found for service in self.below(folder)
            for root in service.roots if (found := self._probe(root.joinpath(*parts))) is not None
        }
        return below.pop() if len(below) == 1 else None

    def below(self, folder: Path) -> list[Service]:
        """The services whose folders are inside `folder` (itself excluded)."""
        found = {}
        for path in self.project.files_under(folder, "python"):
            service = self.of(path)
            if service.kind == "service" and folder in service.folder.parents:
                found[service.folder] = service
        return list(found.values())

    def _probe(self, base: Path) -> Path | None:
        # on disk, not from the listing: a git-ignored local settings module is still imported
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def is_project_package(self, dotted: str, importer: Path) -> bool:
        """Whether `dotted` names a module or a package folder (namespace packages too) of `importer`'s service."""
        if self.resolve(dotted, importer) is not None:
            return True
        parts = dotted.split(".")
        return all(part.isidentifier() for part in parts) and any(
            root.joinpath(*parts).is_dir() for root in self.search_roots(importer)
        )
