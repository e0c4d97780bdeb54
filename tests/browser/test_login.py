"""Signing in through a real browser."""


def test_a_grid_worker_signs_in_and_lands_on_the_home_page(bworld, page_for):
    page = page_for(bworld.grid_worker_a)
    assert page.url.rstrip("/") == page.base_url.rstrip("/")
    assert "网格员甲" in page.content()


def test_a_wrong_password_is_refused_in_chinese(bworld, page_for):
    page = page_for()
    page.goto(f"{page.base_url}/login/")
    page.fill("input[name=username]", bworld.grid_worker_a.username)
    page.fill("input[name=password]", "wrong-password")
    page.click("button.primary")
    assert "用户名或密码不正确" in page.content()
