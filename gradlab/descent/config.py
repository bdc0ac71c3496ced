"""The config of ``gradlab descend``: :class:`DescendConfig`, from flags and YAML, and :func:`parse_point`
for its start point."""

from __future__ import annotations

import math
from typing import Any, Optional

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from gradlab.config import Bool, Float, Int
from gradlab.descent.methods import Settings
from gradlab.descent.run import X_LIMIT
from gradlab.errors import InputError

DEFAULT_FUNCTION = "x**2 - 4*x + 6"


def parse_point(value: Any) -> list[float]:
    """Read a start point: ``8``, ``"8"``, ``"-1.5,2"``, ``"(-1.5, 2)"`` or ``[-1.5, 2]``.

    Raises
    ------
    ValueError
        ``x0: malformed number 'abc' in '1,abc'`` and the like.
    """
    if isinstance(value, bool):
        raise ValueError(f"x0: expected numbers, got {value!r}")
    if isinstance(value, (int, float)):
        items: list[Any] = [value]
    elif isinstance(value, str):
        inner = value.strip().strip("()[]")
        items = [part.strip() for part in inner.split(",")] if inner.strip() else []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"x0: expected a number or numbers separated by commas, got {value!r}")
    if not items:
        raise ValueError(f"x0: no numbers given in {value!r}; e.g. --x0 8 or --x0=-1.5,2")
    from gradlab.registry import NUMBER_TEXT  # the README's rule for numbers in data: x0 follows it too
    from gradlab.errors import overflows_float

    point = []
    for item in items:
        try:
            # float() also reads '1_0' and fullwidth '１２'; the rule refuses them, as it does '0x10'
            if isinstance(item, bool) or (isinstance(item, str) and not NUMBER_TEXT.fullmatch(item)):
                raise TypeError
            point.append(float(item))
        except OverflowError:  # an integer beyond float64 (400 nines in YAML): infinite, as float("1e400") is
            point.append(math.inf if item > 0 else -math.inf)
        except (TypeError, ValueError):
            raise ValueError(
                f"x0: malformed number {item!r} in {value!r}; write ASCII decimal or scientific notation "
                f"(8, -1.5, 1e3), numbers separated by commas, e.g. -1.5,2"
            ) from None
        beyond = isinstance(item, str) and overflows_float(item, point[-1])
        if beyond:  # '1e400' reads as inf, which the check of the point would show as such
            raise ValueError(f"x0: {beyond}; coordinates must be finite numbers at most {X_LIMIT:g} in size")
    return point


class DescendConfig(BaseModel):
    """Settings of ``gradlab descend``, from flags and/or YAML (flags win).

    ``lr`` left out means 0.1 (1 for ``newton``); ``every`` left out chooses a row
    interval that keeps the table to about 100 rows. The validated config holds the
    resolved ``lr``, so writing :meth:`resolved` to ``config.yaml`` reproduces the run.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    f: str = DEFAULT_FUNCTION
    x0: list[float] = Field(default_factory=lambda: [8.0])
    lr: Optional[Float] = Field(default=None, validation_alias=AliasChoices("lr", "learning_rate"))
    # the run's defaults are the Settings' own: one place says what a descent does unasked
    steps: Int = Settings.steps
    tol: Float = Settings.tol
    method: str = Settings.method
    momentum: Float = Settings.momentum
    beta1: Float = Settings.beta1
    beta2: Float = Settings.beta2
    eps: Float = Settings.eps
    every: Optional[Int] = Field(default=None, ge=1)
    digits: Int = Field(default=6, ge=1, le=17)
    name: Optional[str] = None
    plot: Bool = True

    @field_validator("x0", mode="before")
    @classmethod
    def _point(cls, value: Any) -> list[float]:
        return parse_point(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Optional[str]) -> Optional[str]:
        from gradlab.runs import check_name

        return check_name(value, "name")

    @model_validator(mode="after")
    def _numbers(self) -> DescendConfig:
        # one set of rules for the library and the config: Settings checks and resolves them
        settings = self.settings()
        self.method, self.lr = settings.method, settings.lr
        self._refuse_unused()
        return self

    def _refuse_unused(self) -> None:
        """A value given for a setting the method does not read is refused: gd with --momentum 0.9
        ran plain gd, and config.yaml recorded the momentum as if it had been used. A value equal
        to the default is no choice (every saved config.yaml holds all of them)."""
        from gradlab.descent.methods import METHODS

        for key in ("momentum", "beta1", "beta2", "eps"):
            value = getattr(self, key)
            if key in self.model_fields_set and value != getattr(Settings, key) \
                    and key not in METHODS.get(self.method).uses:
                users = [name for name, cls in METHODS.items() if key in cls.uses]
                raise InputError(f"{key}: method {self.method} does not use it, got {value:g}; "
                                 f"it is a setting of {' and '.join(users)}")

    def settings(self) -> Settings:
        """The numeric settings of the run (raises InputError for out-of-range values)."""
        return Settings(lr=self.lr, steps=self.steps, tol=self.tol, method=self.method,
                        momentum=self.momentum, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    def resolved(self) -> dict[str, Any]:
        """Every setting, as written to the run's ``config.yaml``."""
        return self.model_dump()
