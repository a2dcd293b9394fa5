"""Enforce the StructureDefinitions in fhir_profiles/ (FHIR R4 profiling, differential form).

WardCare evaluates the part of a differential its profiles use: min/max cardinality, fixed[x]
and pattern[x] values, slices discriminated by pattern (open slicing: at least `min` repetitions
match), allowed types of a choice element and Reference target types. A profile that uses
anything else fails to load, so no rule is silently skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardcare.errors import Issue

_SUPPORTED_KEYS = {
    "id",
    "path",
    "min",
    "max",
    "type",
    "slicing",
    "sliceName",
    "short",
    "definition",
    "comment",
    "mustSupport",
}
VITAL_SIGNS_CATEGORY = ("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")


@dataclass(frozen=True)
class ElementRule:
    steps: tuple[str, ...]  # e.g. ("value[x]:valueQuantity", "system")
    min: int
    max: str | None
    fixed: Any
    pattern: Any
    types: tuple[str, ...]
    target_types: tuple[str, ...]
    slice_name: str | None


@dataclass(frozen=True)
class Profile:
    url: str
    type: str
    title: str
    rules: tuple[ElementRule, ...]
    slice_patterns: dict[str, Any]  # element id of a slice -> its pattern

    def check(self, resource: dict[str, Any]) -> list[Issue]:
        issues: list[Issue] = []
        for rule in self.rules:
            for parent, parent_path in self._parents(resource, rule.steps[:-1]):
                issues.extend(self._check_element(rule, parent, parent_path))
        return issues

    def _parents(self, resource: dict[str, Any], steps: tuple[str, ...]) -> list[tuple[Any, str]]:
        nodes: list[tuple[Any, str]] = [(resource, self.type)]
        for i, step in enumerate(steps):
            slice_id = ".".join((self.type, *steps[: i + 1]))
            nodes = [child for node in nodes for child in self._children(node, step, slice_id)]
        return nodes

    def _children(
        self, node: tuple[Any, str], step: str, slice_id: str
    ) -> Iterator[tuple[Any, str]]:
        value, path = node
        if not isinstance(value, dict):
            return
        name, _, slice_name = step.partition(":")
        for key, child in _element_values(value, name, slice_name):
            items = child if isinstance(child, list) else [child]
            for index, item in enumerate(items):
                if slice_name and not name.endswith("[x]"):
                    pattern = self.slice_patterns.get(slice_id)
                    if pattern is not None and not matches_pattern(item, pattern):
                        continue
                suffix = f"[{index}]" if isinstance(child, list) else ""
                yield item, f"{path}.{key}{suffix}"

    def _check_element(self, rule: ElementRule, parent: Any, parent_path: str) -> list[Issue]:
        if not isinstance(parent, dict):
            return []
        step = rule.steps[-1]
        name, _, slice_name = step.partition(":")
        present = list(_element_values(parent, name, slice_name))
        instances = [
            (item, f"{parent_path}.{key}" + (f"[{i}]" if isinstance(v, list) else ""))
            for key, v in present
            for i, item in enumerate(v if isinstance(v, list) else [v])
        ]
        where = f"{parent_path}.{name.replace('[x]', '')}"
        issues: list[Issue] = []
        label = f"{self.title} ({self.url})"
        if rule.slice_name:
            matching = [i for i in instances if matches_pattern(i[0], rule.pattern)]
            if len(matching) < rule.min:
                wanted = _describe(rule.pattern)
                issues.append(Issue(f"{label}: {where} needs {wanted}", (where,), "required"))
            return issues
        if len(instances) < rule.min:
            issues.append(Issue(f"{label}: {where} is required", (where,), "required"))
        if rule.max == "0" and instances:
            issues.append(Issue(f"{label}: {where} is not allowed", (where,), "structure"))
        if rule.types and name.endswith("[x]"):
            allowed = {t.lower() for t in rule.types}
            for key, _v in present:
                chosen = key[len(name) - 3 :]
                if chosen.lower() not in allowed:
                    issues.append(
                        Issue(
                            f"{label}: {parent_path}.{key} must be one of {', '.join(rule.types)}",
                            (f"{parent_path}.{key}",),
                            "structure",
                        )
                    )
        for item, path in instances:
            if rule.fixed is not None and item != rule.fixed:
                issues.append(Issue(f"{label}: {path} must be {rule.fixed!r}", (path,), "value"))
            if rule.pattern is not None and not matches_pattern(item, rule.pattern):
                issues.append(
                    Issue(f"{label}: {path} must match {_describe(rule.pattern)}", (path,), "value")
                )
            ref = item.get("reference") if isinstance(item, dict) else None
            wrong_target = isinstance(ref, str) and ref.split("/")[0] not in rule.target_types
            if rule.target_types and wrong_target:
                issues.append(
                    Issue(
                        f"{label}: {path} must refer to {' or '.join(rule.target_types)}",
                        (path,),
                        "value",
                    )
                )
        return issues


def _element_values(value: dict[str, Any], name: str, slice_name: str) -> Iterator[tuple[str, Any]]:
    if name.endswith("[x]"):
        base = name[:-3]
        for key, child in value.items():
            is_choice = key.startswith(base) and len(key) > len(base) and key[len(base)].isupper()
            if is_choice and (not slice_name or key == slice_name):
                yield key, child
    elif name in value:
        yield name, value[name]


def matches_pattern(value: Any, pattern: Any) -> bool:
    """FHIR pattern[x] semantics: every element in the pattern is present with that value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches_pattern(value[k], p) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(
            any(matches_pattern(v, p) for v in value) for p in pattern
        )
    return bool(value == pattern)


def _describe(pattern: Any) -> str:
    if isinstance(pattern, dict) and "coding" in pattern:
        codings = pattern["coding"]
        return " or ".join(f"a coding {c.get('system', '')}|{c.get('code', '')}" for c in codings)
    if isinstance(pattern, dict) and "system" in pattern:
        return f"a coding from {pattern['system']}"
    return json.dumps(pattern)


def load_profile(path: Path) -> Profile:
    sd = json.loads(path.read_text(encoding="utf-8"))
    resource_type = sd["type"]
    rules: list[ElementRule] = []
    slice_patterns: dict[str, Any] = {}
    for element in sd["differential"]["element"]:
        element_id: str = element["id"]
        if element_id == resource_type:
            continue
        pattern_keys = [k for k in element if k.startswith("pattern")]
        fixed_keys = [k for k in element if k.startswith("fixed")]
        unknown = set(element) - _SUPPORTED_KEYS - set(pattern_keys) - set(fixed_keys)
        if unknown:
            raise ValueError(
                f"{path.name}: element {element_id!r} uses {sorted(unknown)}, "
                "which WardCare's profile checker does not evaluate"
            )
        pattern = element[pattern_keys[0]] if pattern_keys else None
        if element.get("sliceName"):
            slice_patterns[element_id] = pattern
        types = tuple(t["code"] for t in element.get("type", ()))
        targets = tuple(
            p.rsplit("/", 1)[-1]
            for t in element.get("type", ())
            for p in t.get("targetProfile", ())
        )
        rules.append(
            ElementRule(
                steps=tuple(element_id.split(".")[1:]),
                min=int(element.get("min", 0)),
                max=element.get("max"),
                fixed=element[fixed_keys[0]] if fixed_keys else None,
                pattern=pattern,
                types=types,
                target_types=targets,
                slice_name=element.get("sliceName"),
            )
        )
    return Profile(
        sd["url"], resource_type, sd.get("title", sd["name"]), tuple(rules), slice_patterns
    )


class ProfileRegistry:
    def __init__(self, profiles: list[Profile]) -> None:
        self.by_url = {p.url: p for p in profiles}

    def applicable(self, resource: dict[str, Any]) -> list[Profile]:
        """The profiles a resource must meet: those it claims, and vital signs by category."""
        urls = list(resource.get("meta", {}).get("profile", ()))
        if resource.get("resourceType") == "Observation" and _has_vital_signs_category(resource):
            urls.append("http://wardcare.org/fhir/StructureDefinition/wardcare-vital-signs")
        seen: dict[str, Profile] = {}
        for url in urls:
            profile = self.by_url.get(url.split("|")[0])
            if profile and profile.type == resource.get("resourceType"):
                seen[profile.url] = profile
        return list(seen.values())


def _has_vital_signs_category(resource: dict[str, Any]) -> bool:
    system, code = VITAL_SIGNS_CATEGORY
    return any(
        c.get("system") == system and c.get("code") == code
        for category in resource.get("category", ())
        if isinstance(category, dict)
        for c in category.get("coding", ())
        if isinstance(c, dict)
    )


def load_profiles(folder: Path) -> ProfileRegistry:
    return ProfileRegistry(
        [load_profile(p) for p in sorted(folder.glob("StructureDefinition-*.json"))]
    )
