"""Runs the Lua of `/c` and `/sc` commands in a real Lua 5.2 against the simulated game.

Factorio's console Lua is Lua 5.2 (modified); lupa embeds the real interpreter, so loops,
locals and string functions behave as they do in game, and syntax and runtime errors read as
Lua reports them (`[string "rcon.print(x"]:1: ')' expected near <eof>`). The API offered is the
part of Factorio 2.0's that a poller or an admin tool touches:

- `rcon.print(x)`: one line of the RCON reply per call (facts §4.4);
- `game.tick`, `game.ticks_played`, `game.speed` (writable), `game.tick_paused` (writable),
  `game.players`, `game.connected_players`, `game.get_player`, `game.surfaces`,
  `game.get_surface`, `game.forces`, `game.player` (nil over RCON, facts §4.4), `game.print`;
- `LuaPlayer` name/index/connected/admin/online_time, `LuaSurface` name/index/daytime
  (writable)/freeze_daytime (writable, boolean)/ticks_per_day/map_gen_settings.seed,
  `LuaForce` technologies (name/researched (writable)/enabled/level),
  `research_all_technologies()`, `get_evolution_factor(surface?)` (2.0 signature, facts §4.4);
- `helpers.table_to_json` (2.0 location; `game.table_to_json` errors as in 2.0);
- `storage`, `table_size`, `log`/`print` (they go to other sinks in Factorio, so here nowhere).

Reading a key a Factorio object does not have raises `LuaGameScript doesn't contain key foo.`
as Factorio does. Globals set by one command are visible to the next, as in a save. A
per-command instruction budget stops runaway loops instead of hanging the simulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lupa import lua52

if TYPE_CHECKING:
    from simulator.game import GameState

__all__ = ["LuaResult", "LuaSandbox"]

#: VM instructions one command may run before it is aborted.
DEFAULT_INSTRUCTION_LIMIT: Final = 20_000_000

_PRELUDE: Final = r"""
local to_json, instruction_limit = ...
local NIL = {}

local function class_error(class, key)
  error(class .. " doesn't contain key " .. tostring(key) .. ".", 3)
end

local function object(class, fields, setters)
  return setmetatable({}, {
    __index = function(_, k)
      local v = fields[k]
      if v == nil then class_error(class, k) end
      if v == NIL then return nil end
      return v
    end,
    __newindex = function(_, k, v)
      local set = setters and setters[k]
      if set == nil then
        if fields[k] == nil then class_error(class, k) end
        error(class .. "::" .. tostring(k) .. " is read only.", 2)
      end
      set(v)
      -- Reading a property after writing it in the same command sees the new value.
      fields[k] = v
    end,
    __metatable = class,
  })
end

local function custom_table(by_key, list, pair_with_names)
  return setmetatable({}, {
    __index = function(_, k)
      local v = by_key[k]
      if v == nil and type(k) == "number" then v = list[k] end
      return v
    end,
    __newindex = function() error("LuaCustomTable is read only.", 2) end,
    __len = function() return #list end,
    __pairs = function()
      if pair_with_names then
        local i = 0
        return function()
          i = i + 1
          local entry = list[i]
          if entry == nil then return nil end
          return entry.name, entry
        end, nil, nil
      end
      return ipairs(list)
    end,
    __metatable = "LuaCustomTable",
  })
end

local function localised(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  if t == "table" then
    if v[1] == "" then
      local parts = {}
      for i = 2, #v do parts[#parts + 1] = localised(v[i]) end
      return table.concat(parts)
    end
    if type(v[1]) == "string" then return 'Unknown key: "' .. v[1] .. '"' end
  end
  error("Invalid LocalisedString.", 3)
end

local function build_api(snap, out, writes)
  local players_by_name, players, connected = {}, {}, {}
  for i, p in ipairs(snap.players) do
    local player = object("LuaPlayer", {
      name = p.name, index = p.index, connected = p.connected, admin = p.admin,
      online_time = p.online_time, afk_time = 0, valid = true, object_name = "LuaPlayer",
    })
    players[i] = player
    players_by_name[p.name] = player
    if p.connected then connected[#connected + 1] = player end
  end

  local surfaces_by_name, surfaces, evolution = {}, {}, {}
  for i, s in ipairs(snap.surfaces) do
    local fields = {
      name = s.name, index = i, daytime = s.daytime, ticks_per_day = s.ticks_per_day,
      freeze_daytime = s.freeze_daytime, valid = true, object_name = "LuaSurface",
      map_gen_settings = object("MapGenSettings", {seed = snap.seed}),
    }
    local function surface_write(key, value)
      writes.surfaces = writes.surfaces or {}
      local w = writes.surfaces[s.name] or {}
      w[key] = value
      writes.surfaces[s.name] = w
      fields[key] = value
    end
    local surface = object("LuaSurface", fields, {
      daytime = function(v)
        if type(v) ~= "number" or v < 0 or v > 1 then error("Invalid daytime.", 3) end
        surface_write("daytime", v)
      end,
      freeze_daytime = function(v)
        if type(v) ~= "boolean" then error("Invalid freeze_daytime: expected boolean.", 3) end
        surface_write("freeze_daytime", v)
      end,
    })
    surfaces[i] = surface
    surfaces_by_name[s.name] = surface
    evolution[s.name] = s.evolution
  end

  local techs_by_name, techs = {}, {}
  local function research_write(fields, value)
    writes.research = writes.research or {}
    writes.research[fields.name] = value
    fields.researched = value
  end
  local tech_fields = {}
  for i, t in ipairs(snap.technologies) do
    local fields = {
      name = t.name, researched = t.researched, enabled = true, level = 1, valid = true,
      object_name = "LuaTechnology",
    }
    tech_fields[i] = fields
    local tech = object("LuaTechnology", fields, {
      researched = function(v)
        if type(v) ~= "boolean" then error("Invalid researched: expected boolean.", 3) end
        research_write(fields, v)
      end,
    })
    techs[i] = tech
    techs_by_name[t.name] = tech
  end
  local technologies = custom_table(techs_by_name, techs, true)

  local function surface_name(surface)
    local kind = type(surface)
    if surface == nil then return "nauvis" end
    if kind == "string" then return surface end
    if kind == "number" then return surfaces[surface] and surfaces[surface].name end
    if kind == "table" and getmetatable(surface) == "LuaSurface" then return surface.name end
    return nil
  end

  local forces_by_name, forces = {}, {}
  for i, name in ipairs({"player", "enemy", "neutral"}) do
    local force
    local function get_evolution_factor(a, b)
      if a == force then a = b end
      local factor = evolution[surface_name(a) or ""]
      if factor == nil then error("Given surface is not valid.", 2) end
      return factor
    end
    force = object("LuaForce", {
      name = name, index = i, technologies = technologies, players = players,
      connected_players = connected, research_progress = 0, current_research = NIL,
      get_evolution_factor = get_evolution_factor, valid = true, object_name = "LuaForce",
      research_all_technologies = function()
        for _, fields in ipairs(tech_fields) do research_write(fields, true) end
      end,
    })
    forces[i] = force
    forces_by_name[name] = force
  end

  local function lookup(by_key, list)
    return function(key)
      local found = by_key[key]
      if found == nil and type(key) == "number" then found = list[key] end
      return found
    end
  end

  local game = object("LuaGameScript", {
    tick = snap.tick, ticks_played = snap.tick, speed = snap.speed,
    tick_paused = snap.tick_paused, player = NIL,
    players = custom_table(players_by_name, players, false),
    connected_players = connected,
    surfaces = custom_table(surfaces_by_name, surfaces, true),
    forces = custom_table(forces_by_name, forces, true),
    get_player = lookup(players_by_name, players),
    get_surface = lookup(surfaces_by_name, surfaces),
    print = function() end,
    is_multiplayer = function() return true end,
    object_name = "LuaGameScript",
  }, {
    speed = function(v)
      if type(v) ~= "number" or v <= 0 then error("Invalid game speed.", 3) end
      writes.speed = v
    end,
    tick_paused = function(v) writes.tick_paused = (v == true) end,
  })

  local rcon = object("LuaRCON", {
    print = function(v) out[#out + 1] = localised(v) end,
    object_name = "LuaRCON",
  })
  local helpers = object("LuaHelpers", {
    table_to_json = function(t) return to_json(t) end,
    object_name = "LuaHelpers",
  })
  return {game = game, rcon = rcon, helpers = helpers}
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local builtins = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, xpcall = xpcall,
  rawget = rawget, rawset = rawset, rawequal = rawequal, rawlen = rawlen,
  setmetatable = setmetatable, getmetatable = getmetatable, unpack = table.unpack,
  string = copy(string), table = copy(table), math = copy(math), bit32 = copy(bit32),
  _VERSION = _VERSION,
  table_size = function(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end,
  log = function() end, print = function() end, localised_print = function() end,
}

local saved = {storage = {}}

return function(code, snap)
  local out, writes = {}, {}
  local api = build_api(snap, out, writes)
  setmetatable(saved, {__index = function(_, k)
    local v = api[k]
    if v ~= nil then return v end
    return builtins[k]
  end})
  local fn, err = load(code, code, "t", saved)
  if not fn then return false, err, "", 0, writes end
  debug.sethook(function() error("Script ran for too long.", 2) end, "", instruction_limit)
  local ok, e = pcall(fn)
  debug.sethook()
  if not ok then e = tostring(e) end
  return ok, e, table.concat(out, "\n"), #out, writes
end
"""


@dataclass(frozen=True)
class LuaResult:
    """What one Lua command did: its `rcon.print` output (a newline per line) or its error."""

    output: str
    error: str | None = None


def _to_bytes(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        return {_to_bytes(k): _to_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_bytes(v) for v in value]
    return value


def _from_lua(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if lua52.lua_type(value) == "table":
        items = list(value.items())
        keys = [k for k, _ in items]
        if keys and keys == list(range(1, len(keys) + 1)):
            return [_from_lua(v) for _, v in items]
        return {str(_from_lua(k)): _from_lua(v) for k, v in items}
    if lua52.lua_type(value) is not None:
        return None
    return value


def _table_to_json(table: Any) -> bytes:
    return json.dumps(_from_lua(table), ensure_ascii=False, separators=(",", ":")).encode()


def _deny_attribute(_obj: object, _name: object, _is_setting: bool) -> object:
    raise AttributeError("Python attributes are not reachable from simulated Lua")


class LuaSandbox:
    """One save's Lua state: `run(code)` executes a command against the current game state."""

    def __init__(
        self, state: GameState, *, instruction_limit: int = DEFAULT_INSTRUCTION_LIMIT
    ) -> None:
        self._state = state
        self._lua = lua52.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attribute,
        )
        self._runner = self._lua.execute(_PRELUDE.encode(), _table_to_json, instruction_limit)

    def _snapshot(self) -> dict[str, Any]:
        state = self._state
        return {
            "tick": state.tick,
            "speed": state.speed,
            "tick_paused": state.is_tick_paused,
            "seed": state.seed,
            "players": [
                {
                    "name": p.name,
                    "index": p.index,
                    "connected": p.is_online,
                    "admin": state.is_admin(p.name),
                    "online_time": state.online_time_ticks(p),
                }
                for p in state.players.values()
            ],
            "surfaces": [
                {
                    "name": s.name,
                    "daytime": state.daytime(s),
                    "freeze_daytime": s.frozen_daytime is not None,
                    "ticks_per_day": s.ticks_per_day,
                    "evolution": s.evolution.factor,
                }
                for s in state.surfaces.values()
            ],
            "technologies": [
                {"name": name, "researched": done} for name, done in state.technologies.items()
            ],
        }

    def _apply_surface_writes(self, surfaces: Any) -> None:
        if surfaces is None:
            return
        for name, changes in surfaces.items():
            surface = self._state.surfaces[name.decode("utf-8")]
            daytime = changes[b"daytime"]
            if daytime is not None:
                self._state.set_daytime(surface, float(daytime))
            freeze = changes[b"freeze_daytime"]
            if freeze is not None:
                self._state.set_freeze_daytime(surface, bool(freeze))

    def run(self, code: str) -> LuaResult:
        """Run `code`; side effects on `game.speed` and `game.tick_paused` reach the state."""
        snapshot = self._lua.table_from(_to_bytes(self._snapshot()), recursive=True)
        is_ok, error, output, count, writes = self._runner(code.encode("utf-8"), snapshot)
        speed = writes[b"speed"]
        if speed is not None:
            self._state.set_speed(float(speed))
        tick_paused = writes[b"tick_paused"]
        if tick_paused is not None:
            self._state.set_paused(bool(tick_paused))
        self._apply_surface_writes(writes[b"surfaces"])
        research = writes[b"research"]
        if research is not None:
            for name, is_researched in research.items():
                self._state.technologies[name.decode("utf-8")] = bool(is_researched)
        text = output.decode("utf-8", errors="replace") + "\n" if count else ""
        if is_ok:
            return LuaResult(text)
        return LuaResult(text, error.decode("utf-8", errors="replace"))
