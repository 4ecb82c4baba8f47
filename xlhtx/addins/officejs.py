"""``xlhtx addin officejs``: the HTX_* functions as an Office.js add-in for Excel on
Windows, Mac and the web, written from the function registry.

The add-in is static files: ``manifest.xml`` (the add-in-only XML manifest, the one that
supports custom functions), ``functions.json`` (each function's metadata: its
arguments and their help, every argument and result a matrix, as xlwings' 2-D read
hands them), ``functions.js`` (each function associated with one POST to ``xlhtx
serve``, which computes with the same Excel functions as xlwings), ``functions.html``
(the page that loads it), ``taskpane.html`` (the server's status and the token) and
icons. Excel names the functions with the add-in's namespace: ``HTX.LIQPRICE`` is
``HTX_LIQPRICE``.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from xlhtx.errors import XlhtxError
from xlhtx.excel.registry import CATEGORY, FUNCTIONS, Function
from xlhtx.files import atomic_write
from xlhtx.version import __version__

NAMESPACE = "HTX"
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
CUSTOM_FUNCTIONS_RUNTIME = "https://appsforoffice.microsoft.com/lib/1/hosted/custom-functions-runtime.js"
TOKEN_KEY = "xlhtx-token"   # where the task pane keeps the server's token (OfficeRuntime.storage)


def short_name(name: str) -> str:
    """``HTX_LIQPRICE`` -> ``LIQPRICE`` (Excel shows it as ``HTX.LIQPRICE``)."""
    return name.removeprefix("HTX_")


def base_url(url: str) -> str:
    """The server's address, checked: Office loads add-ins over HTTPS only."""
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
        raise XlhtxError(f"--url {url}: give the server's HTTPS address, e.g. "
                         "https://localhost:8443 (Office loads add-ins over HTTPS only)")
    return f"https://{parts.netloc}"


def metadata(functions: dict[str, Function] = FUNCTIONS) -> dict:
    """functions.json: every function with its arguments, each a matrix of any values."""
    return {"functions": [{
        "id": short_name(f.name), "name": short_name(f.name), "description": f.summary,
        "result": {"type": "any", "dimensionality": "matrix"},
        "parameters": [{"name": a.name, "description": a.help, "type": "any",
                        "dimensionality": "matrix", "optional": a.optional}
                       for a in f.args]} for f in functions.values()]}


def functions_js(url: str, functions: dict[str, Function] = FUNCTIONS) -> str:
    """functions.js: each function one POST of its arguments to the server."""
    names = {short_name(n): n for n in functions}
    return FUNCTIONS_JS.replace("__URL__", json.dumps(base_url(url))) \
        .replace("__TOKEN_KEY__", json.dumps(TOKEN_KEY)) \
        .replace("__NAMES__", json.dumps(names, indent=2))


FUNCTIONS_JS = """// xlhtx custom functions, written by `xlhtx addin officejs` from the function registry.
// Each function sends its arguments (matrices, as Excel passes them) to `xlhtx serve`,
// which computes them with the same Python functions as the Windows add-in.
"use strict";
const XLHTX_URL = __URL__;
const TOKEN_KEY = __TOKEN_KEY__;
const NAMES = __NAMES__;
const CODES = {"#VALUE!": "invalidValue", "#N/A": "notAvailable", "#NUM!": "invalidNumber"};

function failure(code, message) {
  return new CustomFunctions.Error(CustomFunctions.ErrorCode[code], message);
}

async function token() {
  return (await OfficeRuntime.storage.getItem(TOKEN_KEY)) || "";
}

function cell(value) {
  // a row the server could not compute comes as {error, message}: Excel's error value
  if (value !== null && typeof value === "object") {
    return failure(CODES[value.error] || "invalidValue", value.message);
  }
  return value;
}

async function call(name, args) {
  let response;
  try {
    response = await fetch(`${XLHTX_URL}/functions/${name}`, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": `Bearer ${await token()}`},
      body: JSON.stringify({args: args.map((a) => (a === undefined ? null : a))}),
    });
  } catch (e) {
    throw failure("notAvailable", `xlhtx server not reachable at ${XLHTX_URL}: start \\`xlhtx serve\\``);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok || body === null) {
    throw failure("notAvailable", (body && body.error) || `xlhtx server answered ${response.status}`);
  }
  if (body.error) {
    throw failure(CODES[body.code] || "invalidValue", body.error);
  }
  return body.values.map((row) => row.map(cell));
}

for (const [id, name] of Object.entries(NAMES)) {
  CustomFunctions.associate(id, (...args) => call(name, args));
}
"""


def functions_html() -> str:
    return ('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="UTF-8">\n'
            f'<script src="{CUSTOM_FUNCTIONS_RUNTIME}"></script>\n'
            '<script src="functions.js"></script>\n</head>\n<body></body>\n</html>\n')


def taskpane_html(url: str) -> str:
    return TASKPANE.replace("__URL__", json.dumps(base_url(url))) \
        .replace("__TOKEN_KEY__", json.dumps(TOKEN_KEY)).replace("__OFFICE_JS__", OFFICE_JS)


TASKPANE = """<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>xlhtx</title>
<script src="__OFFICE_JS__"></script>
<style>body{font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;margin:12px}
input{width:100%;box-sizing:border-box}#status{white-space:pre-wrap;margin-top:12px}</style>
</head>
<body>
<h3>xlhtx: HTX futures functions</h3>
<p>The token <code>xlhtx serve</code> printed when it started:</p>
<input id="token" type="password" autocomplete="off">
<button id="save">Save token</button>
<div id="status">Checking the server…</div>
<script>
const XLHTX_URL = __URL__;
const TOKEN_KEY = __TOKEN_KEY__;
async function check() {
  const status = document.getElementById("status");
  const token = (await OfficeRuntime.storage.getItem(TOKEN_KEY)) || "";
  try {
    const r = await fetch(`${XLHTX_URL}/status`, {headers: {"Authorization": `Bearer ${token}`}});
    const body = await r.json();
    status.textContent = r.ok
      ? `Server ${XLHTX_URL}: xlhtx ${body.version}, ${body.functions} functions\\nTier snapshot: ${body.tiers}`
      : `Server ${XLHTX_URL}: ${body.error}`;
  } catch (e) {
    status.textContent = `No xlhtx server at ${XLHTX_URL}: start \\`xlhtx serve\\`.`;
  }
}
Office.onReady(() => {
  document.getElementById("save").onclick = async () => {
    await OfficeRuntime.storage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    await check();
  };
  check();
});
</script>
</body>
</html>
"""


def manifest(url: str) -> str:
    """manifest.xml: a task pane add-in with custom functions (namespace ``HTX``)."""
    base = base_url(url)
    addin = f"{base}/addin"
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"xlhtx:{base}")   # one add-in per server
    version = ".".join((__version__.split(".") + ["0"] * 4)[:4])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0"
  xmlns:ov="http://schemas.microsoft.com/office/taskpaneappversionoverrides"
  xsi:type="TaskPaneApp">
  <Id>{ident}</Id>
  <Version>{version}</Version>
  <ProviderName>xlhtx</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="xlhtx"/>
  <Description DefaultValue={quoteattr(CATEGORY + ": margin, tiers, liquidation prices")}/>
  <IconUrl DefaultValue="{addin}/icon-32.png"/>
  <HighResolutionIconUrl DefaultValue="{addin}/icon-80.png"/>
  <SupportUrl DefaultValue="{addin}/taskpane.html"/>
  <AppDomains>
    <AppDomain>{escape(base)}</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Workbook"/>
  </Hosts>
  <Requirements>
    <Sets DefaultMinVersion="1.1">
      <Set Name="CustomFunctionsRuntime" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <DefaultSettings>
    <SourceLocation DefaultValue="{addin}/taskpane.html"/>
  </DefaultSettings>
  <Permissions>ReadWriteDocument</Permissions>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/taskpaneappversionoverrides" xsi:type="VersionOverridesV1_0">
    <Hosts>
      <Host xsi:type="Workbook">
        <AllFormFactors>
          <ExtensionPoint xsi:type="CustomFunctions">
            <Script>
              <SourceLocation resid="Functions.Script.Url"/>
            </Script>
            <Page>
              <SourceLocation resid="Functions.Page.Url"/>
            </Page>
            <Metadata>
              <SourceLocation resid="Functions.Metadata.Url"/>
            </Metadata>
            <Namespace resid="Functions.Namespace"/>
          </ExtensionPoint>
        </AllFormFactors>
        <DesktopFormFactor>
          <FunctionFile resid="Functions.Page.Url"/>
          <ExtensionPoint xsi:type="PrimaryCommandSurface">
            <OfficeTab id="TabHome">
              <Group id="xlhtx.Group">
                <Label resid="Group.Label"/>
                <Icon>
                  <bt:Image size="16" resid="Icon.16"/>
                  <bt:Image size="32" resid="Icon.32"/>
                  <bt:Image size="80" resid="Icon.80"/>
                </Icon>
                <Control xsi:type="Button" id="xlhtx.TaskpaneButton">
                  <Label resid="Button.Label"/>
                  <Supertip>
                    <Title resid="Button.Label"/>
                    <Description resid="Button.Tooltip"/>
                  </Supertip>
                  <Icon>
                    <bt:Image size="16" resid="Icon.16"/>
                    <bt:Image size="32" resid="Icon.32"/>
                    <bt:Image size="80" resid="Icon.80"/>
                  </Icon>
                  <Action xsi:type="ShowTaskpane">
                    <TaskpaneId>xlhtx.Taskpane</TaskpaneId>
                    <SourceLocation resid="Taskpane.Url"/>
                  </Action>
                </Control>
              </Group>
            </OfficeTab>
          </ExtensionPoint>
        </DesktopFormFactor>
      </Host>
    </Hosts>
    <Resources>
      <bt:Images>
        <bt:Image id="Icon.16" DefaultValue="{addin}/icon-16.png"/>
        <bt:Image id="Icon.32" DefaultValue="{addin}/icon-32.png"/>
        <bt:Image id="Icon.80" DefaultValue="{addin}/icon-80.png"/>
      </bt:Images>
      <bt:Urls>
        <bt:Url id="Functions.Script.Url" DefaultValue="{addin}/functions.js"/>
        <bt:Url id="Functions.Page.Url" DefaultValue="{addin}/functions.html"/>
        <bt:Url id="Functions.Metadata.Url" DefaultValue="{addin}/functions.json"/>
        <bt:Url id="Taskpane.Url" DefaultValue="{addin}/taskpane.html"/>
      </bt:Urls>
      <bt:ShortStrings>
        <bt:String id="Functions.Namespace" DefaultValue="{NAMESPACE}"/>
        <bt:String id="Group.Label" DefaultValue="xlhtx"/>
        <bt:String id="Button.Label" DefaultValue="xlhtx server"/>
      </bt:ShortStrings>
      <bt:LongStrings>
        <bt:String id="Button.Tooltip" DefaultValue="The xlhtx server's status and token"/>
      </bt:LongStrings>
    </Resources>
  </VersionOverrides>
</OfficeApp>
"""


def icon(size: int) -> bytes:
    """A navy square PNG of ``size`` pixels (the add-in's button)."""
    row = b"\x00" + bytes((0x1F, 0x38, 0x64)) * size
    raw = zlib.compress(row * size, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def files(url: str) -> dict[str, bytes]:
    """Every file of the add-in for the server at ``url``."""
    out = {"manifest.xml": manifest(url).encode(),
           "functions.json": json.dumps(metadata(), indent=2).encode(),
           "functions.js": functions_js(url).encode(),
           "functions.html": functions_html().encode(),
           "taskpane.html": taskpane_html(url).encode()}
    out.update({f"icon-{n}.png": icon(n) for n in (16, 32, 80)})
    return out


def write(out: str | Path, url: str) -> Path:
    """The add-in's files into folder ``out`` (manifest.xml to sideload; the others are
    also what ``xlhtx serve`` serves under /addin/)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise XlhtxError(f"-o {out}: give a folder for the add-in's files")
    for name, data in files(url).items():
        atomic_write(out / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
    return out
