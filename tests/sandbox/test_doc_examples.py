"""The vendor docs' own examples run against the sandbox unchanged but for the URL (and the
placeholders every reader fills in: API key, access token, image id, file path).

The Python samples are copied verbatim from the vendor pages (``../shared/vendor-docs/``);
the Clipdrop samples' ``if (r.ok):`` block holds only a comment in the docs, which is not
valid Python, so the comment line gets the statement a reader would write there.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap

import pytest
import requests

from .conftest import URL, decode, encode, noise_image

CLIPDROP_UNCROP_SAMPLE = """
import requests
r = requests.post('https://clipdrop-api.co/uncrop/v1',
files = {
'image_file': ('image.jpg', image_file_object, 'image/jpeg'),
},
data = { 'extend_left': '120', 'extend_down' : '-50' },
headers = { 'x-api-key': 'YOUR_API_KEY'}
)
if (r.ok):
# r.content contains the bytes of the returned image
else:
r.raise_for_status()
"""

CLIPDROP_REIMAGINE_SAMPLE = """
import requests
r = requests.post('https://clipdrop-api.co/reimagine/v1/reimagine',
files = {
'image_file': ('appartment.jpg', image_file_object, 'image/jpeg'),
},
headers = { 'x-api-key': 'YOUR_API_KEY'}
)
if (r.ok):
# r.content contains the bytes of the returned image
else:
r.raise_for_status()
"""

PIKTID_UPLOAD_SAMPLE = """
import json
import requests
api_url = "https://api.piktid.com/api"
access_token = "your_access_token"
target_path = "path_to_image"
with open(target_path, "rb") as target:
    response = requests.post(
        api_url + "/expand/target",
        headers={"Authorization": "Bearer " + access_token},
        files={
            "file": target
        },
    ).json()
image_id = response.get("id_image")
"""

PIKTID_GENERATE_SAMPLE = """
import json
import requests
api_url = "https://api.piktid.com/api"
access_token = "your_access_token"
image_id = "67762577..."
offsets = {
    "top": 100,
    "bottom": 0,
    "left": -25,
    "right": 10,
}
requests.post(
    api_url + "/edit/generate",
    headers={"Authorization": "Bearer " + access_token},
    json={
        "id_image": image_id,
    } | offsets,
)
"""

PIKTID_POLL_SAMPLE = """
import time
import requests
from pprint import pprint
api_url = "https://api.piktid.com/api"
access_token = "your_access_token"
image_id = "67762577..."
def process_notifications(response, image_id):
    for notification in response.get("notifications_list", []):
        if notification["name"] != "expand_generate":
            return None, None
        if notification["data"]["address"] != image_id:
            return None, None
        return notification["data"], notification["id"]
    return None, None
def delete_notification(notification_id):
    requests.delete(
        api_url + "/notification/delete_json",
        headers={"Authorization": "Bearer " + access_token},
        json={"id": notification_id},
    )
# Loops for 10 minutes, even though generating people generally
# takes less time.
for _ in range(600):
    response = requests.post(
        api_url + "/notification_by_name_json",
        headers={"Authorization": "Bearer " + access_token},
        json={
            "name_list": "expand_generate,error",
            "id_image": image_id,
            # Task IDs (returned by /generate) can optionally be used to filter notifications
            # "id_task": ["..."],
        },
    ).json()
    data, notification_id = process_notifications(response, image_id)
    if data is not None:
        # Delete the notification to avoid reading it again
        delete_notification(notification_id)
        print(f"Generation finished!")
        link = data["links"][0]
        # The "l" field contains a static link to the final image
        print(link["l"])
        break
    time.sleep(1)
"""

PIXLAB_SAMPLE = '''
import requests
def extract_face(image_url: str, x: int, y: int, width: int, height: int, api_key: str) -> str:
    """Extract face from image using PixLab API.
    Args:
        image_url: URL of the image to process
        x: X coordinate of the face rectangle
        y: Y coordinate of the face rectangle
        width: Width of the face rectangle
        height: Height of the face rectangle
        api_key: PixLab API key
    Returns:
        URL of the cropped image or error message
    """
    try:
        response = requests.get(
            'https://api.pixlab.io/crop',
            params={
                'img': image_url,
                'key': api_key,
                'x': x,
                'y': y,
                'width': width,
                'height': height
            },
            timeout=10
        )
        response.raise_for_status()
        data = response.json()
        if data['status'] != 200:
            return f"Error: {data.get('error', 'Unknown error')}"
        return f"Face location: {data['link']}"
    except requests.exceptions.RequestException as e:
        return f"Request failed: {str(e)}"
    except ValueError:
        return "Error: Invalid JSON response"
    except KeyError:
        return "Error: Malformed API response"
if __name__ == "__main__":
    result = extract_face(
        image_url='http://cf.broadsheet.ie/wp-content/uploads/2015/03/jeremy-clarkson_3090507b.jpg',
        x=164,
        y=95,
        width=145,
        height=145,
        api_key='PIXLAB_API_KEY'
    )
    print(result)
'''


def _reindent_flat(sample: str) -> str:
    """The Clipdrop pages lose the indentation of the ``if``/``else`` bodies; restore it and
    put the reader's statement where the comment stands."""
    lines = []
    for line in sample.strip().splitlines():
        if line.startswith("# r.content"):
            lines.append("    result = r.content  " + line)
        elif line.startswith("r.raise_for_status()"):
            lines.append("    " + line)
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def run(source: str, namespace: dict | None = None) -> dict:
    namespace = {"__name__": "__main__", **(namespace or {})}
    exec(compile(textwrap.dedent(source), "<vendor doc sample>", "exec"), namespace)
    return namespace


def test_clipdrop_uncrop_python_sample(sandbox):
    source = _reindent_flat(CLIPDROP_UNCROP_SAMPLE)
    source = source.replace("https://clipdrop-api.co", f"{URL}/clipdrop")
    source = source.replace("YOUR_API_KEY", "sandbox")
    namespace = run(source, {"image_file_object": encode(noise_image(200, 150), "JPEG")})
    assert decode(namespace["result"]).size == (320, 100)


def test_clipdrop_reimagine_python_sample(sandbox):
    source = _reindent_flat(CLIPDROP_REIMAGINE_SAMPLE)
    source = source.replace("https://clipdrop-api.co", f"{URL}/clipdrop")
    source = source.replace("YOUR_API_KEY", "sandbox")
    namespace = run(source, {"image_file_object": encode(noise_image(200, 150), "JPEG")})
    assert decode(namespace["result"]).size == (200, 150)


def test_piktid_python_samples_upload_generate_poll(sandbox, piktid_token, tmp_path, capsys):
    sandbox.configure(piktid_delay=0.5)
    path = tmp_path / "target.png"
    path.write_bytes(encode(noise_image(300, 200)))

    def prepare(source: str, image_id: str = "") -> str:
        source = source.replace("https://api.piktid.com/api", f"{URL}/piktid/api")
        source = source.replace("your_access_token", piktid_token)
        source = source.replace("path_to_image", str(path))
        return source.replace("67762577...", image_id)

    image_id = run(prepare(PIKTID_UPLOAD_SAMPLE))["image_id"]
    assert image_id
    run(prepare(PIKTID_GENERATE_SAMPLE, image_id))
    run(prepare(PIKTID_POLL_SAMPLE, image_id))
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Generation finished!"
    link = printed[1]
    assert decode(requests.get(link).content).size == (300 - 25 + 10, 200 + 100)
    # The sample deleted the notification it handled.
    listed = requests.post(
        f"{URL}/piktid/api/notification_by_name_json",
        headers={"Authorization": f"Bearer {piktid_token}"},
        json={"name_list": "expand_generate,error", "id_image": image_id},
    ).json()
    assert listed == {"notifications_list": []}


def test_pixlab_python_sample_with_a_loopback_img_url(sandbox, capsys):
    image_url = requests.put(
        f"{URL}/_sandbox/files/docs/jeremy-clarkson_3090507b.jpg",
        data=encode(noise_image(400, 300), "JPEG"),
    ).json()["url"]
    source = PIXLAB_SAMPLE.replace("https://api.pixlab.io", f"{URL}/pixlab")
    source = source.replace(
        "http://cf.broadsheet.ie/wp-content/uploads/2015/03/jeremy-clarkson_3090507b.jpg",
        image_url,
    )
    source = source.replace("PIXLAB_API_KEY", "sandbox")
    run(source)
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(f"Face location: {URL}/")
    cropped = decode(requests.get(printed.removeprefix("Face location: ")).content)
    assert cropped.size == (145, 145)


CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


@needs_curl
def test_clipdrop_uncrop_curl_sample(sandbox, tmp_path):
    (tmp_path / "image.jpg").write_bytes(encode(noise_image(200, 150), "JPEG"))
    subprocess.run(
        [CURL, "-sS", "-X", "POST", f"{URL}/clipdrop/uncrop/v1",
         "-H", "x-api-key: sandbox",
         "-F", "image_file=@image.jpg",
         "-F", 'extend_left="120"',
         "-F", 'extend_down="-50"',
         "-o", "result.png"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    assert decode((tmp_path / "result.png").read_bytes()).size == (320, 100)


@needs_curl
def test_clippingmagic_curl_samples(sandbox, tmp_path):
    (tmp_path / "example.jpg").write_bytes(encode(noise_image(120, 90), "JPEG"))
    uploaded = subprocess.run(
        [CURL, "-sS", f"{URL}/clippingmagic/api/v1/images", "-u", "1:sandbox",
         "-F", "image=@example.jpg"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    import json

    image_id = json.loads(uploaded.stdout)["image"]["id"]
    sandbox.clippingmagic_edit(image_id)
    subprocess.run(
        [CURL, "-sS", f"{URL}/clippingmagic/api/v1/images/{image_id}", "-u", "1:sandbox", "-LOJ"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    downloaded = tmp_path / "example.png"  # named by Content-Disposition
    assert decode(downloaded.read_bytes()).mode == "RGBA"
